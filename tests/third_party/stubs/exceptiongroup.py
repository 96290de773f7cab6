"""Stand-in for exceptiongroup.ExceptionGroup on 3.8-3.10, the one name the vendored upstream
stackscope imports from it (it raises one when several extraction errors occur). Test oracle
only (tests/third_party/README.md); 3.11+ has the builtin."""

__all__ = ["ExceptionGroup"]


class ExceptionGroup(Exception):
    def __init__(self, message, exceptions):
        super().__init__(message, list(exceptions))
        self.message = message
        self.exceptions = tuple(exceptions)

    def __str__(self):
        return "%s (%d sub-exceptions)" % (self.message, len(self.exceptions))
