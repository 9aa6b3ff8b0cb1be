"""`python -m optlab schedules`: every schedule over one run on one figure, and its table."""

from PIL import Image

from optlab import cli, schedules
from optlab.lab._schedules_command import lecture_schedules


def test_schedules_command_draws_every_schedule(tmp_path, capsys):
    assert cli.main(["schedules", "--epochs", "9", "--steps-per-epoch", "4", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("step (x0.1 every 3 epochs)", "cosine", "linear", "exponential", "constant", "warmup", "restarts"):
        assert name in out
    assert f"wrote {tmp_path / 'schedules.png'}" in out
    with Image.open(tmp_path / "schedules.png") as image:
        assert image.format == "PNG" and image.size[0] > 300


def test_lecture_schedules_values():
    tour = lecture_schedules(0.1, epochs=90, steps_per_epoch=100)
    assert float(tour["step (x0.1 every 30 epochs)"](30 * 100)) == float(schedules.step(0.1, every=30)(30))
    assert abs(float(tour["cosine"](0)) - 0.1) < 1e-7 and abs(float(tour["cosine"](9000))) < 1e-9
    assert abs(float(tour["exponential (to 1% at the end)"](9000)) - 0.001) < 1e-6


def test_schedules_command_bad_values_are_one_line_errors(tmp_path, capsys):
    assert cli.main(["schedules", "--epochs", "1", "--out", str(tmp_path)]) == 2
    assert "--epochs must be an int >= 3, got 1" in capsys.readouterr().err
    assert cli.main(["schedules", "--lr", "-1", "--out", str(tmp_path)]) == 2
    assert "--lr must be > 0" in capsys.readouterr().err
