"""`manage.py train_reader`: fine-tune the hand reader from ImageNet on real and rendered clocks.
With --display, train the digital-display recognizer; with --polar, the older polar reader."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from pipeline.read.checkpoints import save_checkpoint

_RECORDED = {"display", "polar", "seed", "steps", "eval_every", "real_clocks", "backgrounds", "validation", "count",
             "epochs", "batch_size", "width", "learning_rate", "out", "init", "reviewed", "new_heads"}  # fmt: skip


def _heads(named: list[str] | None) -> set[str]:
    """The heads --new-heads adds: those named, all where it is given bare, none without it."""
    from pipeline.read.hand_net import OPTIONAL_HEADS

    if named is None:
        return set()
    return set(named or OPTIONAL_HEADS)


def _values(value: object) -> list[str]:
    """An option's value as the command line gave it: a flag's none, a list's each."""
    if value is True:
        return []
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


class Command(BaseCommand):
    help = (
        "Fine-tune the clock reader (ImageNet EfficientNet-Lite0) on the real clocks of --real-clocks and on "
        "rendered clocks set into the photographs of --backgrounds, validating on the real validation split; "
        "--init continues a run from its .state file. With --display, train the digital-display recognizer "
        "(--init: from a display checkpoint's weights); with --polar, the older polar reader on rendered crops."
    )
    requires_system_checks = []

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        shared = Path(settings.BASE_DIR).parent / "shared" / "data"
        parser.add_argument("--display", action="store_true", help="train the digital-display recognizer")
        parser.add_argument("--polar", action="store_true", help="train the older polar reader on rendered crops")
        parser.add_argument("--seed", type=int, default=1, help="seed of the data and of training")
        parser.add_argument("--steps", type=int, default=6000, help="batches to train for (hand reader)")
        parser.add_argument("--eval-every", type=int, default=400, help="validate and checkpoint every N batches")
        parser.add_argument("--real-clocks", type=Path, default=shared / "real-clocks")
        parser.add_argument("--backgrounds", type=Path, default=shared / "backgrounds-coco")
        parser.add_argument(
            "--validation",
            type=Path,
            default=self._default_validation(),
            help="eval_reader directory to validate on (by default the held-out split of --real-clocks, "
            "written afresh each run so that it follows the split's rules)",
        )
        parser.add_argument("--count", type=int, default=40_000, help="training crops to render (--display, --polar)")
        parser.add_argument("--validation-seed", type=int, default=1001)
        parser.add_argument("--validation-count", type=int, default=2_000)
        parser.add_argument("--epochs", type=int, default=12, help="(--display, --polar)")
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--width", type=int, default=32, help="(--display, --polar)")
        parser.add_argument("--learning-rate", type=float, default=None)
        parser.add_argument("--workers", type=int, default=None,
                            help="processes that draw or render training crops (default: 2 with --display or "
                                 "--polar; for the hand reader 1 on a CPU, and all cores but one, at most 12, "
                                 "beside a GPU)")  # fmt: skip
        parser.add_argument("--out", type=Path, help="checkpoint to write (default: the one settings load)")
        parser.add_argument("--init", type=Path, help="continue from this checkpoint (or a run's .state file)")
        parser.add_argument("--new-heads", nargs="*", choices=("up", "squeeze", "second_hand"), metavar="HEAD",
                            help="train an --init checkpoint's network with these heads added (up, squeeze, "
                                 "second_hand; all of them where none is named), the heads it lacks starting afresh "
                                 "(by default the checkpoint's own network is trained: a fresh head misleads the "
                                 "decode until it has learned; models/README.md)")  # fmt: skip
        parser.add_argument("--reviewed", type=Path,
                            help="an export_reviewed folder: the clocks curators confirmed or corrected, trained on "
                                 "beside the real clocks (hand reader)")  # fmt: skip

    @staticmethod
    def _default_validation() -> Path:
        return Path(settings.VAR_DIR) / "datasets" / "real-validation"

    def run_from_argv(self, argv: list[str]) -> None:
        self.argv = argv[2:]  # recorded in the checkpoint as the command that trained it
        super().run_from_argv(argv)

    def handle(self, *args: object, **options: object) -> None:
        given = getattr(self, "argv", None)
        if given is None:  # called from code: the options it was given
            given = [
                part
                for key in sorted(options)
                if key in _RECORDED and options[key] not in (None, False)
                for part in (f"--{key.replace('_', '-')}", *_values(options[key]))
            ]
        command = "python manage.py train_reader " + shlex.join(given)
        if options["display"] or options["polar"]:
            self._rendered_only(options, command)
            return
        from pipeline.synth.hand_training import real_evaluator, train_hand_reader
        from pipeline.synth.real_clocks import reviewed_frames, write_validation_set

        real_root, backgrounds = options["real_clocks"], options["backgrounds"]
        for path, what in ((real_root, "real clock photographs"), (backgrounds, "clockless photographs")):
            if not Path(path).is_dir():
                raise CommandError(f"{path} not found: the {what} to train on (see ../shared/data/SOURCES.md)")
        reviewed = None
        if options["reviewed"]:
            try:
                reviewed = reviewed_frames(options["reviewed"])
            except ValueError as error:
                raise CommandError(f"--reviewed: {error}") from None
            self.stdout.write(
                f"{len(reviewed.clocks)} reviewed clocks and {len(reviewed.displays)} reviewed displays "
                f"from {options['reviewed']}; left out (no time, box, frame or kind): {reviewed.skipped}"
            )
        validation = options["validation"]
        if validation == self._default_validation() or not (validation / "labels.csv").exists():
            write_validation_set(real_root, validation)
        out = options["out"] or Path(settings.READER_WEIGHTS)

        def save(model, record, path) -> None:  # noqa: ANN001
            save_checkpoint(model, record, path, command)

        record = train_hand_reader(
            real_root=real_root, background_root=backgrounds, out=out, seed=options["seed"], steps=options["steps"],
            evaluate=real_evaluator(validation), save=save, batch_size=options["batch_size"] or 32,
            learning_rate=options["learning_rate"] or 6e-4, eval_every=options["eval_every"],
            initial=options["init"], state_path=Path(settings.VAR_DIR) / "train_reader" / f"{out.name}.state",
            reviewed=reviewed, new_heads=_heads(options["new_heads"]), workers=options["workers"],
            log=self.stdout.write,
        )  # fmt: skip
        self.stdout.write(f"latest state (for --init): {Path(settings.VAR_DIR) / 'train_reader' / f'{out.name}.state'}")
        self.stdout.write(json.dumps({"checkpoint": str(out), "best_step": record.best_step,
                                      "validation": record.validation}))  # fmt: skip

    def _rendered_only(self, options: dict, command: str) -> None:
        if options["display"]:
            from pipeline.synth.display_training import render_display_set as render
            from pipeline.synth.display_training import train_display_reader as train

            out = options["out"] or Path(settings.DISPLAY_READER_WEIGHTS)
            # Each epoch that validates better than those before is written as the run goes, so the
            # checkpoint is the run's best epoch, not its last.
            extra = {"initial": options["init"],
                     "save": lambda model, record: save_checkpoint(model, record, out, command)}  # fmt: skip
        else:
            from pipeline.synth.reader_training import render_reader_set as render
            from pipeline.synth.reader_training import train_reader as train

            out = options["out"] or Path(settings.VAR_DIR) / "polar-reader.pt"
            extra = {"initial": options["init"]}
        cache = Path(settings.VAR_DIR) / "datasets"
        sets = {}
        for name, seed, count in (
            ("training", options["seed"], options["count"]),
            ("validation", options["validation_seed"], options["validation_count"]),
        ):
            with tqdm(total=count, desc=f"rendering {name} crops", unit="crop") as bar:
                sets[name] = render(seed, count, cache, workers=options["workers"] or 2, progress=bar.update)
        model, record = train(
            sets["training"], sets["validation"], seed=options["seed"], epochs=options["epochs"],
            batch_size=options["batch_size"] or 128, width=options["width"],
            learning_rate=options["learning_rate"] or 3e-3, log=self.stdout.write, **extra,
        )  # fmt: skip
        if not options["display"]:
            save_checkpoint(model, record, out, command)
        self.stdout.write(json.dumps({"checkpoint": str(out), **record.__dict__}))
