"""The one YAML loader of the specs, and spec errors that name file and entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import copy_study_specs
from transforms import yamlfile
from transforms.adam.spec import load_adam_spec
from transforms.adam.tte import load_tte_spec
from transforms.quality.suites import raw_suites
from transforms.specs import SpecError, load_study
from transforms.studies import list_studies
from transforms.yamlfile import Entry


def _file(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_a_mapping_with_anchors_and_merge_keys(tmp_path: Path) -> None:
    path = _file(tmp_path, "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n")
    assert yamlfile.load(path) == {"base": {"x": 1, "y": 2}, "use": {"x": 1, "y": 3}}
    assert yamlfile.load(_file(tmp_path, "# nothing but a comment\n", "empty.yaml")) == {}


def test_duplicate_key_is_refused_with_both_lines(tmp_path: Path) -> None:
    path = _file(tmp_path, "dataset: AE\nvariables:\n  - name: AETERM\n    origin: CRF\n"
                           "    origin: Derived\n")  # fmt: skip
    with pytest.raises(SpecError) as err:
        yamlfile.load(path)
    assert str(err.value) == (
        f"{path}: line 5, column 5: not valid YAML: key 'origin' given twice (first on line 4)"
    )


def test_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = _file(tmp_path, "dataset: AE\nkeys: [STUDYID, USUBJID\nsort: [AESEQ]\n")
    # libyaml says "did not find expected ',' or ']'", PyYAML's own parser "expected ..."
    with pytest.raises(
        SpecError, match=rf"^{path}: line 3, column 5: not valid YAML: (did not find )?expected"
    ):
        yamlfile.load(path)


@pytest.mark.parametrize(("text", "found"), [("- a\n- b\n", "list"), ("just text\n", "str")])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, found: str) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(SpecError) as err:
        yamlfile.load(path)
    assert str(err.value) == f"{path}: the file must hold a mapping (key: value), found {found}"


def test_missing_file_and_python_tags(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"nope\.yaml: spec file missing"):
        yamlfile.load(tmp_path / "nope.yaml")
    path = _file(tmp_path, "!!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(SpecError, match="line 1, column 1: not valid YAML: could not determine"):
        yamlfile.load(path)


def test_entry_names_file_and_path() -> None:
    entry = Entry("sdtm/ae.yaml") / "records" / 0 / "transpose" / "items" / 3 / "rules" / "X"
    assert str(entry) == "sdtm/ae.yaml: records[0].transpose.items[3].rules.X"
    assert str(Entry("f.yaml")) == "f.yaml"
    assert str(entry.error("bad")) == "sdtm/ae.yaml: records[0].transpose.items[3].rules.X: bad"
    with pytest.raises(SpecError, match=r"^f.yaml: checks\[2\]: expected a mapping, found list$"):
        yamlfile.mapping([], Entry("f.yaml") / "checks" / 2)
    with pytest.raises(SpecError, match=r"^f.yaml: keys: expected a list, found str$"):
        yamlfile.sequence("USUBJID", Entry("f.yaml") / "keys")


# --- every loader goes through it ---------------------------------------------------------------


def _study_copy(tmp_path: Path) -> Path:
    root = tmp_path / "specs"
    copy_study_specs(root, "POMMAINT")
    return root


def _load_error(root: Path) -> str:
    with pytest.raises(SpecError) as err:
        load_study.__wrapped__("POMMAINT", root)
    return str(err.value)


def _entry_of(path: Path, name: str) -> int:
    """The position of variable `name` in the dataset spec's variables list."""
    variables = yamlfile.load(path)["variables"]
    return next(i for i, v in enumerate(variables) if isinstance(v, dict) and v["name"] == name)


def _error_once_edited(root: Path, path: Path, old: str, new: str) -> str:
    """The study's load error once the one `old` text of the spec file is `new`."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    try:
        return _load_error(root)
    finally:
        path.write_text(text, encoding="utf-8")


def test_wrong_type_deep_in_a_dataset_spec_names_file_and_entry(tmp_path: Path) -> None:
    root = _study_copy(tmp_path)
    path = root / "POMMAINT" / "sdtm" / "dm.yaml"
    i = _entry_of(path, "AGE")
    age = "  - name: AGE\n"
    assert _error_once_edited(root, path, age, age + "    length: long\n") == (
        f"{path}: variables[{i}].length: AGE: length must be a whole number 1-200 "
        "(or absent: longest value)"
    )


def test_wrong_type_in_forms_names_file_and_entry(tmp_path: Path) -> None:
    root = _study_copy(tmp_path)
    path = root / "POMMAINT" / "forms.yaml"
    sex = "      SEX: {label: Sex, type: text, required: true}\n"
    assert _error_once_edited(root, path, sex, "      SEX: [Sex, text]\n") == (
        f"{path}: forms.DM.columns.SEX: expected a mapping, found list"
    )
    assert _error_once_edited(root, path, sex, sex.replace("type: text", "type: txt")) == (
        f"{path}: forms.DM.columns.SEX.type: 'txt' not one of "
        "('text', 'integer', 'decimal', 'result', 'date', 'time')"
    )


def test_duplicate_key_in_a_study_spec_names_file_and_line(tmp_path: Path) -> None:
    root = _study_copy(tmp_path)
    path = root / "POMMAINT" / "study.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    title = next(n for n, line in enumerate(lines, 1) if line.startswith("title:"))
    path.write_text("\n".join([*lines, "title: Another title", ""]), encoding="utf-8")
    message = _load_error(root)
    assert message.startswith(f"{path}: line {len(lines) + 1}, column 1: not valid YAML")
    assert message.endswith(f"key 'title' given twice (first on line {title})")


def test_adam_tte_suite_and_study_list_loaders_use_it(tmp_path: Path) -> None:
    duplicate = "dataset: ADXX\ndataset: ADYY\n"
    for load in (load_adam_spec, load_tte_spec):
        with pytest.raises(SpecError, match="key 'dataset' given twice"):
            load(_file(tmp_path, duplicate))
    folder = tmp_path / "expectations" / "POMMAINT" / "raw"
    folder.mkdir(parents=True)
    _file(folder, "form: DM\nchecks: []\nform: DM\n", "dm.yaml")
    with pytest.raises(SpecError, match=r"dm.yaml: line 3, column 1: .* key 'form' given twice"):
        raw_suites(load_study("POMMAINT"), root=tmp_path / "expectations")
    root = _study_copy(tmp_path)
    (root / "POMMAINT" / "study.yaml").write_text("- POMMAINT\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"study\.yaml: the file must hold a mapping"):
        list_studies(root)
