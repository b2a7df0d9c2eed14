"""The program builder: forms and YAML as two views of one program.

``forms`` turns each part of the program into form fields and back;
``document`` writes a form's values into the YAML text, keeping its comments
and order (``yaml_tree`` does the edits of the round-trip tree and of lines).
"""

from .document import SECTIONS, apply_form, errors_beside_fields, outline, remove_item
from .form_reader import FormInvalid

__all__ = ["SECTIONS", "FormInvalid", "apply_form", "errors_beside_fields", "outline", "remove_item"]
