"""The intake-form contract, loaded from ``data/schemas/`` (the only column list).

The YAML files are pandera ``DataFrameSchema`` files. They describe a form after
parsing; the schema-level ``metadata`` block says how each raw cell is parsed.
Everything in the package that needs a column name, a type or a code list asks
this module.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import pandera.pandas as pa

INTAKE_SCHEMA_FILE = "intake_form.v1.yaml"
TRAINING_SCHEMA_FILE = "training.v1.yaml"

#: Weeks from the first sick day at which the contract asks for a risk (``risk_8`` .. ``risk_52``):
#: week 8 is the Danish visitation point, 13 the headline, 22 the reassessment.
HORIZONS: tuple[int, ...] = (8, 13, 22, 52)
#: The headline horizon: the ranked list's ``risk`` column, the priority bands and the reasons.
MAIN_HORIZON = 13


@dataclass(frozen=True)
class Field:
    """How one column of the contract is read.

    Attributes
    ----------
    name : str
        Column name as the contract spells it.
    parse : str
        Parse kind: identifier, text, date, number, whole, boolean, code, icd10.
    required : bool
        Whether a file must carry this column.
    labels : dict
        Accepted spellings (case-folded) mapped to the canonical code.
    codes : tuple
        The canonical codes (from the schema's ``isin`` check), if any.
    minimum, maximum : float or None
        The accepted range (from the schema's range checks), if any.
    label_da, label_en : str
        The field's name in a sentence a person reads, in Danish and in English
        (``"første sygedag"``, ``"first sick day"``); the column name when the
        contract gives none.
    code_names : dict of str to dict
        Language -> (code -> the code's name in that language), for the code
        lists a refusal spells out (``{"da": {1: "stillesiddende", ...}}``).
    options : dict
        The field's other parse options (``derived_from``, ``group_column``).
    """

    name: str
    parse: str
    required: bool = False
    labels: dict[str, Any] = field(default_factory=dict)
    codes: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    options: dict[str, Any] = field(default_factory=dict)
    label_da: str = ""
    label_en: str = ""
    code_names: dict[str, dict[Any, str]] = field(default_factory=dict)

    def label_in(self, language: str) -> str:
        """The field's name in ``language`` (``"da"`` or ``"en"``)."""
        return (self.label_da if language == "da" else self.label_en) or self.name


@dataclass(frozen=True)
class Contract:
    """The intake-form contract: the pandera schema and how to read each field.

    Attributes
    ----------
    schema : pandera.pandas.DataFrameSchema
        Schema of parsed forms (typed columns).
    fields : dict of str to Field
        Parsing rules per column, in contract order.
    required_one_of : dict of str to tuple of str
        Groups of columns of which a file must carry at least one.
    boolean_labels : dict of str to bool
        Accepted spellings of yes/no answers.
    version : str
        Schema name and version, for example ``intake_form.v1``.
    """

    schema: pa.DataFrameSchema
    fields: dict[str, Field]
    required_one_of: dict[str, tuple[str, ...]]
    boolean_labels: dict[str, bool]
    version: str

    @property
    def columns(self) -> list[str]:
        """Column names in contract order."""
        return list(self.fields)

    @property
    def required_columns(self) -> list[str]:
        """Columns every file must carry."""
        return [name for name, spec in self.fields.items() if spec.required]


def _read_schema(file_name: str) -> pa.DataFrameSchema:
    """A schema file of ours, read with libyaml's loader where PyYAML has it (as pandera's ``from_yaml``
    would read it, five times faster)."""
    import yaml
    from pandera.io.pandas_io import deserialize_schema

    text = resources.files("screening").joinpath("schemas", file_name).read_text("utf-8")
    return deserialize_schema(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


def _checks_summary(column: pa.Column) -> dict[str, Any]:
    """Code list and range of a column, read from its pandera checks."""
    summary: dict[str, Any] = {}
    for check in column.checks:
        stats = check.statistics or {}
        if check.name == "isin":
            summary["codes"] = tuple(stats["allowed_values"])
        elif check.name == "in_range":
            summary["minimum"] = stats["min_value"]
            summary["maximum"] = stats["max_value"]
        elif check.name == "greater_than_or_equal_to":
            summary["minimum"] = stats["min_value"]
    return summary


def _fields_of(schema: pa.DataFrameSchema) -> dict[str, Field]:
    specs = (schema.metadata or {}).get("fields", {})
    missing = set(schema.columns) ^ set(specs)
    if missing:
        raise RuntimeError(f"schema {schema.name}: columns and parse rules differ on {sorted(missing)}")
    fields = {}
    for name, column in schema.columns.items():
        spec = dict(specs[name])
        labels = {str(key).casefold(): value for key, value in (spec.pop("labels", None) or {}).items()}
        label_da, label_en = spec.pop("label_da", None), spec.pop("label_en", None)
        if not label_da or not label_en:
            raise RuntimeError(f"schema {schema.name}: field {name} needs label_da and label_en")
        code_names = {language: dict(spec.pop(f"code_names_{language}")) for language in ("da", "en")
                      if spec.get(f"code_names_{language}")}
        checks = _checks_summary(column)
        accepted = set(labels.values()) | set(checks.get("codes", ()))
        for language, names in code_names.items():
            # A name a refusal offers must itself be accepted, as the code it names.
            wrong = [code for code, shown in names.items()
                     if code not in accepted or labels.get(str(shown).casefold(), shown) != code]
            if wrong:
                raise RuntimeError(f"schema {schema.name}: code_names_{language} of {name} name {wrong} wrongly")
        fields[name] = Field(
            name=name,
            parse=spec.pop("parse"),
            required=bool(spec.pop("required", False)),
            labels=labels,
            options=spec,
            label_da=str(label_da),
            label_en=str(label_en),
            code_names=code_names,
            **checks,
        )
    return fields


def load_contract(*, training: bool = False) -> Contract:
    """Load the intake-form contract, optionally with the training extension.

    Parameters
    ----------
    training : bool, default False
        Add the outcome columns (``absence_weeks``, ``spell_ended``).

    Returns
    -------
    Contract
        The schema and the parsing rules. Cached: treat it as read-only.
    """
    return _contract(bool(training))


@functools.cache
def _contract(training: bool) -> Contract:
    """:func:`load_contract`, cached on ``training`` alone (``load_contract()`` and
    ``load_contract(training=False)`` are one entry)."""
    schema = _read_schema(INTAKE_SCHEMA_FILE)
    meta = schema.metadata or {}
    version = f"{schema.name}.v{meta['schema_version']}"
    if training:
        extension = _read_schema(TRAINING_SCHEMA_FILE)
        merged_meta = dict(meta)
        merged_meta["fields"] = {**meta["fields"], **extension.metadata["fields"]}
        schema = schema.add_columns(extension.columns)  # a new object: the cache stays clean
        schema.metadata = merged_meta
        version += f"+{extension.name}.v{extension.metadata['schema_version']}"
    boolean_labels = {
        str(label).casefold(): value == "true"
        for value, labels in meta["boolean_labels"].items()
        for label in labels
    }
    return Contract(
        schema=schema,
        fields=_fields_of(schema),
        required_one_of={key: tuple(cols) for key, cols in meta.get("required_one_of", {}).items()},
        boolean_labels=boolean_labels,
        version=version,
    )
