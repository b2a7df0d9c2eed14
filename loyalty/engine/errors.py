"""What the loader reports when the rules YAML is rejected."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuleError:
    file: str
    line: int
    column: int
    path: str
    message: str

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class RulesInvalid(Exception):
    """Every problem found in the rules, not only the first one."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))
