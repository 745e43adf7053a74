"""Tiny releases of Waterbirds, CelebA and CivilComments in the exact on-disk layout of the real ones.

Every image is a solid colour (plus mild noise) that encodes its running index, so tests can check that row ``i`` of
``images.npy`` came from the right file. Each builder returns the group counts the release should give.
"""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from gerne.data.contract import SPLITS

CountsDict = dict[str, dict[str, int]]

_CELEBA_NAMES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair Blond_Hair "
    "Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup High_Cheekbones Male "
    "Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks "
    "Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace "
    "Wearing_Necktie Young"
)
CELEBA_ATTRIBUTES = tuple(_CELEBA_NAMES.split())  # the 40 names in release order
# (split, y, a, n) cells of the image fixtures: every group of every split is present, with unequal sizes.
IMAGE_GROUPS = [("train", 0, 0, 4), ("train", 0, 1, 2), ("train", 1, 0, 1), ("train", 1, 1, 3),
                ("val", 0, 0, 2), ("val", 0, 1, 1), ("val", 1, 0, 1), ("val", 1, 1, 1),
                ("test", 0, 0, 2), ("test", 0, 1, 2), ("test", 1, 0, 1), ("test", 1, 1, 2)]
WATERBIRDS_SIZES = ((500, 375), (375, 500), (448, 336))  # the real photos vary in size and orientation


def colour_of(index: int) -> tuple[int, int, int]:
    """The solid colour of fixture image ``index``."""
    return (40 + 37 * index) % 256, (200 - 23 * index) % 256, (90 + 61 * index) % 256


def write_jpeg(path: Path, size: tuple[int, int], index: int) -> None:
    """A ``size`` (w, h) JPEG of colour ``colour_of(index)`` with a little deterministic noise."""
    w, h = size
    rng = np.random.default_rng(index)
    pixels = np.asarray(colour_of(index), dtype=np.int16) + rng.integers(-4, 5, (h, w, 3))
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(path, quality=95)


def group_rows() -> list[tuple[str, int, int]]:
    """``(split, y, a)`` per fixture image, in file order (splits interleaved as in the real files)."""
    rows = [(split, y, a) for split, y, a, n in IMAGE_GROUPS for _ in range(n)]
    order = np.random.default_rng(0).permutation(len(rows))
    return [rows[i] for i in order]


def counts_of(rows: list[tuple[str, int, int]], num_attributes: int = 2) -> CountsDict:
    """``{split: {"y,a": n}}`` for 2 classes × ``num_attributes``, as counts.json writes it."""
    out: CountsDict = {s: {f"{y},{a}": 0 for y in range(2) for a in range(num_attributes)} for s in SPLITS}
    for split, y, a in rows:
        out[split][f"{y},{a}"] += 1
    return out


def tar_folder(folder: Path, tar_path: Path, top_level: bool = True) -> Path:
    """``tar czf`` of ``folder`` (as one top-level folder, or its contents at the top level); the folder is removed."""
    with tarfile.open(tar_path, "w:gz") as tar:
        if top_level:
            tar.add(folder, arcname=folder.name)
        else:
            for child in sorted(folder.iterdir()):
                tar.add(child, arcname=child.name)
    shutil.rmtree(folder)
    return tar_path


def extract_tar(tar_path: Path, dest: Path) -> Path:
    """Unpack ``tar_path`` into ``dest`` (the tests' stand-in for the real extract code)."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tar_path) as tar:
        tar.extractall(dest, filter="data")
    return dest


def waterbirds_release(root: Path) -> tuple[Path, CountsDict]:
    """``root/waterbird_complete95_forest2water2.tar.gz`` (metadata.csv + class folders of JPEGs) and its counts."""
    folder = root / "waterbird_complete95_forest2water2"
    birds = {0: ("021.Eastern_Towhee", "Eastern_Towhee"), 1: ("001.Black_footed_Albatross", "Black_Footed_Albatross")}
    places = {0: "b/bamboo_forest", 1: "o/ocean"}
    rows, records = group_rows(), []
    for i, (split, y, a) in enumerate(rows):
        cls_dir, stem = birds[y]
        name = f"{cls_dir}/{stem}_{i + 1:04d}_{700 + i}.jpg"
        write_jpeg(folder / name, WATERBIRDS_SIZES[i % len(WATERBIRDS_SIZES)], i)
        records.append({"img_id": i + 1, "img_filename": name, "y": y, "split": SPLITS.index(split), "place": a,
                        "place_filename": f"/{places[a]}/000{i:02d}.jpg"})
    pd.DataFrame(records).to_csv(folder / "metadata.csv", index=False)
    return tar_folder(folder, root / "waterbird_complete95_forest2water2.tar.gz"), counts_of(rows)


def _celeba_frames() -> tuple[pd.DataFrame, pd.DataFrame, list[tuple[str, int, int]]]:
    rows = group_rows()
    rng = np.random.default_rng(1)
    attrs = rng.choice([-1, 1], size=(len(rows), len(CELEBA_ATTRIBUTES)))
    attrs[:, CELEBA_ATTRIBUTES.index("Blond_Hair")] = [1 if y else -1 for _, y, _ in rows]
    attrs[:, CELEBA_ATTRIBUTES.index("Male")] = [1 if a else -1 for _, _, a in rows]
    ids = [f"{i + 1:06d}.jpg" for i in range(len(rows))]
    attr = pd.DataFrame(attrs, columns=list(CELEBA_ATTRIBUTES))
    attr.insert(0, "image_id", ids)
    part = pd.DataFrame({"image_id": ids, "partition": [SPLITS.index(s) for s, _, _ in rows]})
    return attr, part, rows


def celeba_release(root: Path, kaggle: bool = False) -> CountsDict:
    """CelebA in ``root``: the original .txt lists and ``img_align_celeba/``, or the Kaggle mirror's .csv lists and
    nested ``img_align_celeba/img_align_celeba/``; 178×218 JPEGs. Returns the counts."""
    attr, part, rows = _celeba_frames()
    image_dir = root / "img_align_celeba" / "img_align_celeba" if kaggle else root / "img_align_celeba"
    for i, name in enumerate(attr["image_id"]):
        write_jpeg(image_dir / name, (178, 218), i)
    if kaggle:
        attr.to_csv(root / "list_attr_celeba.csv", index=False)
        part.to_csv(root / "list_eval_partition.csv", index=False)
    else:
        lines = [str(len(attr)), " ".join(CELEBA_ATTRIBUTES) + " "]
        values = attr[list(CELEBA_ATTRIBUTES)].to_numpy()
        for name, row in zip(attr["image_id"], values, strict=True):
            lines.append(f"{name} " + " ".join(f"{v:2d}" for v in row))
        (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
        (root / "list_eval_partition.txt").write_text(
            "".join(f"{n} {p}\n" for n, p in zip(part["image_id"], part["partition"], strict=True)))
    return counts_of(rows)


IDENTITY_NAMES = ("male", "female", "LGBTQ", "christian", "muslim", "other_religions", "black", "white")
_WILDS_NAMES = (
    "id comment_text split created_date publication_id parent_id article_id rating funny wow sad likes disagree "
    "toxicity severe_toxicity obscene sexual_explicit identity_attack insult threat identity_annotator_count "
    "toxicity_annotator_count male female transgender other_gender heterosexual homosexual_gay_or_lesbian bisexual "
    "other_sexual_orientation christian jewish muslim hindu buddhist atheist other_religion black white asian latino "
    "other_race_or_ethnicity physical_disability intellectual_or_learning_disability psychiatric_or_mental_illness "
    "other_disability LGBTQ other_religions asian_latino_etc disability_any identity_any num_identities"
)
WILDS_COLUMNS = tuple(_WILDS_NAMES.split())
# (id, text, split, toxicity, identity scores); CSV-hostile text on purpose: commas, quotes, newlines, unicode.
COMMENTS = [
    (239579, "You are so right, my friend.", "train", 0.0, {"male": 0.8, "christian": 0.5}),
    (239580, 'He said "hello" and left\nthen came back.', "train", 0.9, {"black": 1.0, "white": 0.6}),
    (239581, "Nothing about anyone here", "train", 0.7, {"female": 0.49}),
    (239582, "Café owners, listen: you are world class", "val", 0.5, {"LGBTQ": 0.5, "muslim": 0.3}),
    (239583, "other people", "test", 0.2, {"other_religion": 0.9, "other_religions": 0.0}),
    (239584, " ".join(["hello world"] * 200), "test", 0.66, {"other_religions": 0.75, "female": 1.0}),
    (239585, None, "val", 0.1, {"male": 0.5}),
    (239586, "you you you", "test", 0.0, {"white": 0.55, "black": np.nan}),
    (239587, "hello", "train", 1.0, {"muslim": 0.6, "male": 0.6, "female": 0.6}),
]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "you", "are", "so", "right", "my", "friend", "hello", "world",
         "he", "said", "and", ",", ".", '"', ":", "##s", "class", "people", "other"]


def civilcomments_rows() -> list[tuple[int, str, int, int]]:
    """Expected Fine-variant rows ``(source_id, split, y, a)``: comment-major, identities in IDENTITY_NAMES order."""
    return [(cid, split, int(tox >= 0.5), a) for cid, _, split, tox, ids in COMMENTS
            for a, name in enumerate(IDENTITY_NAMES) if ids.get(name, 0.0) >= 0.5]


def civilcomments_release(root: Path) -> tuple[Path, CountsDict]:
    """``root/civilcomments_v1.0.tar.gz`` holding ``all_data_with_identities.csv`` (and RELEASE_v1.0.txt) at its top
    level, as the CodaLab bundle does, and the Fine-variant counts."""
    folder = root / "civilcomments_bundle"
    folder.mkdir(parents=True)
    records = []
    for cid, text, split, tox, ids in COMMENTS:
        record = dict.fromkeys(WILDS_COLUMNS, 0.0)
        record.update(id=cid, comment_text=text, split=split, toxicity=tox, **ids)
        records.append(record)
    frame = pd.DataFrame(records, columns=WILDS_COLUMNS)
    frame.to_csv(folder / "all_data_with_identities.csv")  # WILDS keeps the unnamed index column
    (folder / "RELEASE_v1.0.txt").write_text("v1.0\n")
    counts = counts_of([(s, y, a) for _, s, y, a in civilcomments_rows()], num_attributes=len(IDENTITY_NAMES))
    return tar_folder(folder, root / "civilcomments_v1.0.tar.gz", top_level=False), counts


def bert_vocab_dir(root: Path) -> Path:
    """A directory with a tiny uncased WordPiece ``vocab.txt`` and ``tokenizer_config.json`` (loadable offline)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    (root / "tokenizer_config.json").write_text('{"tokenizer_class": "BertTokenizer", "do_lower_case": true}\n')
    return root


def tiny_mnist(raw: Path, n_train: int = 1200, n_test: int = 300) -> Path:
    """Four real IDX .gz files of random 28×28 digits with balanced labels (a stand-in for MNIST in size only)."""
    import gzip

    rng = np.random.default_rng(0)
    raw.mkdir(parents=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        header = (2051).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (n, 28, 28))
        (raw / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + images.tobytes()))
        header = (2049).to_bytes(4, "big") + n.to_bytes(4, "big")
        (raw / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(header + labels.tobytes()))
    return raw


def cifar10_release(root: Path, train_per_class: int = 30, test_per_class: int = 20, seed: int = 0) -> Path:
    """``root/cifar-10-batches-py/`` in the real layout (five pickled training batches, ``test_batch``,
    ``batches.meta``; Python-2 style bytes keys, protocol 2) with smooth random images; returns the folder."""
    import pickle

    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)

    def images(labels: np.ndarray) -> np.ndarray:
        base = rng.integers(0, 256, (len(labels), 3, 4, 4)).repeat(8, axis=2).repeat(8, axis=3)
        return (base + rng.integers(0, 8, base.shape)).clip(0, 255).astype(np.uint8).reshape(len(labels), -1)

    train = rng.permutation(np.repeat(np.arange(10), train_per_class))
    for i, part in enumerate(np.array_split(train, 5), start=1):
        entry = {b"batch_label": f"training batch {i} of 5".encode(), b"labels": part.tolist(),
                 b"data": images(part), b"filenames": [f"img_{i}_{k}.png".encode() for k in range(len(part))]}
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(entry, protocol=2))
    test = rng.permutation(np.repeat(np.arange(10), test_per_class))
    entry = {b"batch_label": b"testing batch 1 of 1", b"labels": test.tolist(), b"data": images(test),
             b"filenames": [f"test_{k}.png".encode() for k in range(len(test))]}
    (folder / "test_batch").write_bytes(pickle.dumps(entry, protocol=2))
    meta = {b"num_cases_per_batch": len(train) // 5, b"label_names": [b"airplane", b"automobile", b"bird", b"cat",
            b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"], b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return folder


# (part, folder under bffhq/, [(age, gender, n)]) of the bFFHQ fixture: DFA's layout, class folders in train only.
BFFHQ_PARTS = [("align", "0.5pct/align/0", [(0, 0, 5)]), ("align", "0.5pct/align/1", [(1, 1, 4)]),
               ("conflict", "0.5pct/conflict/0", [(0, 1, 1)]), ("conflict", "0.5pct/conflict/1", [(1, 0, 1)]),
               ("valid", "valid", [(0, 0, 2), (1, 1, 2), (0, 1, 1)]), ("test", "test", [(0, 0, 1), (1, 1, 1),
                                                                                       (0, 1, 2), (1, 0, 2)])]


def bffhq_release(root: Path) -> tuple[Path, CountsDict]:
    """``root/bffhq/`` in DFA's layout with tiny PNGs named ``<id>_<age>_<gender>.png``; returns it and its counts."""
    folder, index = root / "bffhq", 0
    counts: CountsDict = {s: {f"{y},{a}": 0 for y in range(2) for a in range(2)} for s in SPLITS}
    split_of = {"align": "train", "conflict": "train", "valid": "val", "test": "test"}
    for part, sub, cells in BFFHQ_PARTS:
        (folder / sub).mkdir(parents=True, exist_ok=True)
        for age, gender, n in cells:
            for _ in range(n):
                Image.new("RGB", (20, 20), colour_of(index)).save(folder / sub / f"{index}_{age}_{gender}.png")
                counts[split_of[part]][f"{age},{gender}"] += 1
                index += 1
    return folder, counts


def cifar10c_release(root: Path, pct: str = "5pct", per_cell: int = 1) -> tuple[Path, CountsDict]:
    """``root/cifar10c/`` in DFA's layout (32 px PNGs ``<id>_<label>_<bias>.png``): ``per_cell`` + 2 aligned and
    one conflicting image per class, validation alike, ``per_cell`` test images per (class, corruption) cell."""
    folder, index = root / "cifar10c", 0
    counts: CountsDict = {s: {f"{y},{a}": 0 for y in range(10) for a in range(10)} for s in SPLITS}

    def put(sub: str, split: str, y: int, a: int) -> None:
        nonlocal index
        (folder / sub / str(y)).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (32, 32), colour_of(index)).save(folder / sub / str(y) / f"{index}_{y}_{a}.png")
        counts[split][f"{y},{a}"] += 1
        index += 1

    for y in range(10):
        for _ in range(per_cell + 2):
            put(f"{pct}/align", "train", y, y)
            put(f"{pct}/valid", "val", y, y)
        put(f"{pct}/conflict", "train", y, (y + 1) % 10)
        put(f"{pct}/valid", "val", y, (y + 3) % 10)
        for a in range(10):
            for _ in range(per_cell):
                put("test", "test", y, a)
    return folder, counts
