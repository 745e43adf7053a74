"""Cross-references of the ``datasets`` and ``studies`` sections, checked once both are validated: names and
folders, the rows and datasets a study lists, the batch units and thresholds of each row on each dataset, the
attributes a row needs."""

from __future__ import annotations

from pipeline.reports.layouts import LAYOUTS
from pipeline.schema import hint as _hint
from pipeline.studies.config import NAME, RESERVED, Dataset, StudiesParams, TableStudy


def check_studies(datasets: dict[str, Dataset], studies: StudiesParams) -> None:
    """Cross-references: names, declared datasets, rows that need attributes the data does not have."""
    _check_names(datasets, studies)
    for study, table in studies.tables.items():
        _check_study(study, table, studies)
        cells: dict[tuple[str, float | None], str] = {}
        for name in table.datasets:
            _check_dataset_of(study, table, name, datasets, cells)
            for row in table.rows_of(name):
                _check_row_on(row, name, datasets, studies)
            missing = [r for r in table.rows_of(name)
                       if studies.rows[r].needs_attributes() and not datasets[name].attributes]
            if missing:
                raise ValueError(f"studies.tables.{study}.rows has {missing}, which need true attributes in "
                                 f"{studies.rows[missing[0]].needs_attributes()}; datasets.{name} has attributes: "
                                 "false, so only rows without them can run on it (e.g. no_no: pseudo-attributes, "
                                 "checkpoints by worst-class accuracy)")
    for name in studies.table3.datasets:
        if name not in datasets:
            raise ValueError(f"studies.table3.datasets names '{name}', which is not declared under datasets")


def _check_names(datasets: dict[str, Dataset], studies: StudiesParams) -> None:
    """Dataset names and folders, one Table 1 study, the datasets every_seed_on names."""
    for name in datasets:
        if not NAME.match(name) or name in RESERVED:
            raise ValueError(f"dataset name '{name}' must be lower-case letters, digits and _ (no dots: it is part of "
                             f"DVC param paths), not one of {sorted(RESERVED)}; it names data/<name>/ and "
                             "runs/<name>/")
    folders = [d.dir or name for name, d in datasets.items()]
    clash = sorted({f for f in folders if folders.count(f) > 1 or any(g.startswith(f"{f}/") for g in folders)})
    if clash:
        raise ValueError(f"datasets share (or nest) the folder(s) {clash} (their `dir` or name); give each its own "
                         "`dir`")
    for name, entry in LAYOUTS.items():
        users = [study for study, t in studies.tables.items() if t.report == name]
        if entry.unique and len(users) > 1:
            raise ValueError(f"only one study can be reported as report: {name} ({', '.join(users)} are); keep one")
    for row, spec in studies.rows.items():
        for name in spec.every_seed_on:
            if name not in datasets:
                raise ValueError(f"studies.rows.{row}.every_seed_on names '{name}', which is not declared under "
                                 f"datasets{_hint(name, datasets)}")


def _check_study(study: str, table: TableStudy, studies: StudiesParams) -> None:
    """A study's rows, rows_on and headline name defined rows; an attribution study has its reference dataset."""
    for row in table.rows:
        if row not in studies.rows:
            raise ValueError(f"studies.tables.{study}.rows names '{row}', which is not defined under "
                             f"studies.rows{_hint(row, studies.rows)}")
    for name, subset in table.rows_on.items():
        if name not in table.datasets or not set(subset) <= set(table.rows):
            raise ValueError(f"studies.tables.{study}.rows_on.{name}: each key must be one of the study's "
                             f"datasets {table.datasets} and its rows a subset of its rows {table.rows}")
    entry = LAYOUTS[table.report]
    if table.headline and not entry.headline:
        raise ValueError(f"studies.tables.{study}.headline: report: {table.report} writes no headline metrics "
                         f"(only {', '.join(n for n, e in LAYOUTS.items() if e.headline)} does)")
    for label, row in table.headline.items():  # a row the study does not train (a trial's subset) is left out
        if row not in studies.rows:
            raise ValueError(f"studies.tables.{study}.headline.{label} names '{row}', which is not defined under "
                             f"studies.rows{_hint(row, studies.rows)}")
    if len(table.datasets) < entry.min_datasets:
        raise ValueError(f"studies.tables.{study} (report: {table.report}) needs at least {entry.min_datasets} "
                         f"dataset(s): it writes {entry.description}")



def _check_dataset_of(study: str, table: TableStudy, name: str, datasets: dict[str, Dataset],
                      cells: dict[tuple[str, float | None], str]) -> None:
    """A study's dataset is declared; in Table 1 it is one column (benchmark, minority share) of its own."""
    from gerne.data.registry import KINDS

    if name not in datasets:
        raise ValueError(f"studies.tables.{study}.datasets names '{name}', which is not declared under "
                         f"datasets{_hint(name, datasets)}")
    entry, kind = LAYOUTS[table.report], datasets[name].kind
    if entry.kinds is not None and kind not in entry.kinds:
        raise ValueError(f"studies.tables.{study} (report: {table.report}) has a column per dataset kind in "
                         f"{list(entry.kinds)}, not datasets.{name} (kind {kind}); report it with `report: study`")
    if entry.kinds is not None and (kind, None) in cells:
        raise ValueError(f"studies.tables.{study}: datasets.{cells[(kind, None)]} and datasets.{name} are both its "
                         f"{kind} column; list one of them")
    if entry.kinds is not None:
        cells[(kind, None)] = name
    by_share = entry.by_minority_share
    if by_share and datasets[name].minority_percent() is not None:
        cell = (KINDS[datasets[name].kind].benchmark, datasets[name].minority_percent())
        if cell in cells:
            raise ValueError(f"studies.tables.{study}: datasets.{cells[cell]} and datasets.{name} are both "
                             f"the {cell[0]} column at {cell[1]:g} %; list one of them")
        cells[cell] = name
    if by_share and datasets[name].minority_percent() is None:
        raise ValueError(f"studies.tables.{study} (report: {table.report}) has a column per minority share; "
                         f"datasets.{name} (kind {datasets[name].kind}) defines none")


def _check_row_on(row: str, name: str, datasets: dict[str, Dataset], studies: StudiesParams) -> None:
    """A row on a dataset: its batch unit is one its method takes, its pseudo-minority shares lie in (0, 1)."""
    from gerne.methods import METHODS
    from pipeline.studies.protocols import protocol_for

    spec = studies.rows[row]
    unit = protocol_for(datasets[name], spec, f"studies.rows.{row} on {name}").batch_unit
    if unit not in METHODS[spec.method].batch_units:
        raise ValueError(f"studies.rows.{row} (method {spec.method}) on {name}: batch_unit '{unit}' is "
                         f"not one the method takes ({list(METHODS[spec.method].batch_units)})")
    share = spec.grouping.share
    grid = spec.search.get(share, []) if share and isinstance(spec.search, dict) else []
    for t in [*grid, *([spec.config[share]] if share in spec.config else [])]:
        if not 0.0 < datasets[name].absolute_t(t) < 1.0:
            raise ValueError(f"studies.rows.{row}: {share} = {t} is a pseudo-minority share of "
                             f"{datasets[name].absolute_t(t)} on {name}, outside (0, 1)")
