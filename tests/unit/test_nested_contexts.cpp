// Contexts inside contexts (issue 15): a @contextmanager's inner stack and an ExitStack's
// children, rendered as upstream stackscope's Context/Frame/Stack._format (tree),
// _frame_summaries (flat) and as JSON. The expected tree is upstream's README example.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "stackscope/formatters.hpp"

using namespace stackscope;

namespace {

Frame frame(const std::string& function, int line, const std::string& source) {
    Frame f;
    f.function = f.name = function;
    f.module = "__main__";
    f.filename = "/src/example.py";
    f.line = line;
    f.source = source;
    return f;
}

Context context(std::string source, std::optional<std::string> varname, std::string type, int line,
                std::string description = "") {
    Context c;
    c.address = 0x1000 + static_cast<uint64_t>(line);
    c.source = std::move(source);
    c.varname = std::move(varname);
    c.type_name = std::move(type);
    c.start_line = line;
    c.description = std::move(description);
    return c;
}

Context child(std::string description, std::string varname, std::string type, int line) {
    Context c = context("", std::move(varname), std::move(type), line, std::move(description));
    c.source.reset();
    return c;
}

Stack stack_of(std::vector<Frame> frames, std::string root = "<generator object g at 0x10>") {
    Stack s;
    s.root.kind = StackRootKind::Generator;
    s.root.address = 0x10;
    s.root.description = std::move(root);
    s.frames = std::move(frames);
    return s;
}

// upstream's README example: example() inside outer_context() inside inner_context()'s ExitStack.
Stack readme_example() {
    Context enter = child("stack.enter_context(null_context(...))", "stack[0]", "_GeneratorContextManager", 13);
    enter.inner_stack = stack_of({frame("null_context", 5, "yield")});
    Context callback = child("stack.callback(__main__.some_cb, 10, 'hi', answer=42)", "stack[1]", "function", 13);
    Context exit_stack = context("with stack:", "stack", "ExitStack", 13);
    exit_stack.children.emplace_back(Boxed<Context>(enter));
    exit_stack.children.emplace_back(Boxed<Context>(callback));
    Frame inner = frame("inner_context", 16, "yield \"inner\"");
    inner.contexts.push_back(exit_stack);
    Context inner_cm =
        context("with inner_context() as inner:", "inner", "_GeneratorContextManager", 20, "inner_context(...)");
    inner_cm.inner_stack = stack_of({inner});
    Frame outer = frame("outer_context", 21, "yield \"outer\"");
    outer.contexts.push_back(inner_cm);
    Context outer_cm =
        context("with outer_context():", std::nullopt, "_GeneratorContextManager", 24, "outer_context(...)");
    outer_cm.inner_stack = stack_of({outer});
    Frame example = frame("example", 25, "yield");
    example.contexts.push_back(outer_cm);
    return stack_of({frame("call_example", 28, "yield from example()"), example},
                    "<generator object call_example at 0x7f362cd54d00>");
}

}  // namespace

TEST_CASE("nested contexts: upstream's README example, tree", "[format][contexts]") {
    CHECK(format_stack_tree(readme_example(), {}) ==
          "stackscope.Stack of <generator object call_example at 0x7f362cd54d00> (most recent call last):\n"
          "╠ call_example in __main__ at /src/example.py:28\n"
          "║ └ yield from example()\n"
          "╠ example in __main__ at /src/example.py:25\n"
          "║ ├ with outer_context():  # _: _GeneratorContextManager (line 24)\n"
          "║ │ ╠ outer_context in __main__ at /src/example.py:21\n"
          "║ │ ║ ├ with inner_context() as inner:  # inner: _GeneratorContextManager (line 20)\n"
          "║ │ ║ │ ╠ inner_context in __main__ at /src/example.py:16\n"
          "║ │ ║ │ ║ ├ with stack:  # stack: ExitStack (line 13)\n"
          "║ │ ║ │ ║ ├── stack.enter_context(null_context(...))  # stack[0]: _GeneratorContextManager\n"
          "║ │ ║ │ ║ │   ╠ null_context in __main__ at /src/example.py:5\n"
          "║ │ ║ │ ║ │   ║ └ yield\n"
          "║ │ ║ │ ║ ├── stack.callback(__main__.some_cb, 10, 'hi', answer=42)  # stack[1]: function\n"
          "║ │ ║ │ ║ └ yield \"inner\"\n"
          "║ │ ║ └ yield \"outer\"\n"
          "║ └ yield\n");
}

TEST_CASE("nested contexts: ASCII markers as upstream maps them", "[format][contexts]") {
    TreeOptions ascii;
    ascii.ascii = true;
    const std::string text = format_stack_tree(readme_example(), ascii);
    CHECK(text.substr(text.find('\n') + 1) ==
          "+ call_example in __main__ at /src/example.py:28\n"
          "| ` yield from example()\n"
          "+ example in __main__ at /src/example.py:25\n"
          "| . with outer_context():  # _: _GeneratorContextManager (line 24)\n"
          "|   + outer_context in __main__ at /src/example.py:21\n"
          "|   | . with inner_context() as inner:  # inner: _GeneratorContextManager (line 20)\n"
          "|   |   + inner_context in __main__ at /src/example.py:16\n"
          "|   |   | . with stack:  # stack: ExitStack (line 13)\n"
          "|   |   |   . stack.enter_context(null_context(...))  # stack[0]: _GeneratorContextManager\n"
          "|   |   |     + null_context in __main__ at /src/example.py:5\n"
          "|   |   |     | ` yield\n"
          "|   |   |   . stack.callback(__main__.some_cb, 10, 'hi', answer=42)  # stack[1]: function\n"
          "|   |   | ` yield \"inner\"\n"
          "|   | ` yield \"outer\"\n"
          "| ` yield\n");
}

TEST_CASE("nested contexts: grandchildren, child stacks, errors, colour", "[format][contexts]") {
    Context grandchild = child("stack[0].callback(m.f)", "stack[0][0]", "function", 3);
    Context nested = child("stack.enter_context(<contextlib.ExitStack object at 0x1>)", "stack[0]", "ExitStack", 3);
    nested.children.emplace_back(Boxed<Context>(grandchild));
    Context top = context("with ExitStack() as stack:", "stack", "ExitStack", 3);
    top.children.emplace_back(Boxed<Context>(nested));
    Stack task = stack_of({frame("worker", 9, "await sleep(1)")}, "<Task pending name='t'>");
    top.children.emplace_back(Boxed<Stack>(task));
    Context broken = context("with cm():", "c", "_GeneratorContextManager", 4);
    broken.error = "the generator-based manager at 0x1004 has no generator";
    Context running = context("with other():", std::nullopt, "_GeneratorContextManager", 5);
    Stack failed = stack_of({});
    failed.error = ExtractionError{ErrorKind::InconsistentData, "no thread runs it", std::nullopt};
    running.inner_stack = failed;
    Frame f = frame("main", 6, "pass");
    f.contexts = {top, broken, running};
    const std::string text = format_stack_tree(stack_of({f}), {});
    CHECK(text.substr(text.find('\n') + 1) ==
          "╠ main in __main__ at /src/example.py:6\n"
          "║ ├ with ExitStack() as stack:  # stack: ExitStack (line 3)\n"
          "║ ├── stack.enter_context(<contextlib.ExitStack object at 0x1>)  # stack[0]: ExitStack\n"
          "║ │   ─ stack[0].callback(m.f)  # stack[0][0]: function\n"
          "║ │   \n"
          "║ ├── <Task pending name='t'>\n"
          "║ │   ╠ worker in __main__ at /src/example.py:9\n"
          "║ │   ║ └ await sleep(1)\n"
          "║ │   \n"
          "║ ├ with cm():  # c: _GeneratorContextManager (line 4)\n"
          "║ │ (context unreadable: the generator-based manager at 0x1004 has no generator)\n"
          "║ ├ with other():  # _: _GeneratorContextManager (line 5)\n"
          "║ │   Error while extracting stack:\n"
          "║ │     no thread runs it\n"
          "║ └ pass\n");
    // Colour paints the text, never the markers, and does not change which lines are children.
    TreeOptions color;
    color.color = true;
    const std::string painted = format_stack_tree(stack_of({f}), color);
    CHECK(painted.find("║ ├── \x1b[") != std::string::npos);
    CHECK(painted.find("║ │   ─ \x1b[") != std::string::npos);
}

TEST_CASE("nested contexts: flat text as upstream's format_flat(show_contexts=True)", "[format][contexts]") {
    const std::string text = format_stack_flat(readme_example(), {});
    CHECK(text.substr(text.find('\n') + 1) ==
          "  File \"/src/example.py\", line 28, in call_example\n"
          "    yield from example()\n"
          "  File \"/src/example.py\", line 24, in example (_: _GeneratorContextManager)\n"
          "    with outer_context():\n"
          "  File \"/src/example.py\", line 20, in outer_context (inner: _GeneratorContextManager)\n"
          "    with inner_context() as inner:\n"
          "  File \"/src/example.py\", line 13, in inner_context (stack: ExitStack)\n"
          "    with stack:\n"
          "  File \"/src/example.py\", line 13, in inner_context (stack[0]: _GeneratorContextManager)\n"
          "    # stack.enter_context(null_context(...))\n"
          "  File \"/src/example.py\", line 5, in null_context\n"
          "    yield\n"
          "  File \"/src/example.py\", line 13, in inner_context (stack[1]: function)\n"
          "    # stack.callback(__main__.some_cb, 10, 'hi', answer=42)\n"
          "  File \"/src/example.py\", line 16, in inner_context\n"
          "    yield \"inner\"\n"
          "  File \"/src/example.py\", line 21, in outer_context\n"
          "    yield \"outer\"\n"
          "  File \"/src/example.py\", line 25, in example\n"
          "    yield\n");
}

TEST_CASE("nested contexts: JSON inner_stack and children", "[format][contexts]") {
    Snapshot snap;
    snap.objects_asked = true;
    ObjectStack o;
    o.address = 0x10;
    o.stack = readme_example();
    snap.objects.push_back(o);
    const auto doc = nlohmann::json::parse(format_snapshot_json(snap));
    const auto& outer = doc["objects"][0]["frames"][1]["contexts"][0];
    CHECK(outer["description"] == "outer_context(...)");
    CHECK(outer["error"].is_null());
    CHECK(outer["inner_stack"]["description"] == "<generator object g at 0x10>");
    const auto& inner = outer["inner_stack"]["frames"][0]["contexts"][0]["inner_stack"]["frames"][0];
    CHECK(inner["function"] == "inner_context");
    const auto& children = inner["contexts"][0]["children"];
    REQUIRE(children.size() == 2);
    CHECK(children[0]["varname"] == "stack[0]");
    CHECK(children[0]["source"].is_null());
    CHECK(children[0]["inner_stack"]["frames"][0]["function"] == "null_context");
    CHECK(children[1]["description"] == "stack.callback(__main__.some_cb, 10, 'hi', answer=42)");
    CHECK(children[1]["inner_stack"].is_null());
    CHECK(children[1]["children"].empty());
}
