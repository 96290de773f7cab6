"""Stand-in for the two typing_extensions names that the vendored upstream stackscope imports
(ParamSpec, Concatenate). Used only by the test oracle (tests/third_party/README.md); upstream
uses them only in annotations and as a Generic parameter, so a TypeVar is enough before 3.10."""
import typing

__all__ = ["Concatenate", "ParamSpec"]

if hasattr(typing, "ParamSpec"):  # 3.10+
    ParamSpec = typing.ParamSpec
    Concatenate = typing.Concatenate
else:

    def ParamSpec(name):
        return typing.TypeVar(name)

    class _ConcatenateForm:
        def __getitem__(self, args):
            return list(args) if isinstance(args, tuple) else [args]

    Concatenate = _ConcatenateForm()
