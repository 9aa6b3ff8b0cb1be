"""The lecture's learning-rate schedules, printed at a few steps.
Run: python examples/schedules_tour.py"""

from optlab import schedules

STEPS_PER_EPOCH = 100
tour = {
    "step (x0.1 every 30 epochs)": schedules.per_epoch(schedules.step(0.1, every=30), STEPS_PER_EPOCH),
    "cosine over 90 epochs": schedules.cosine(0.1, total_steps=90 * STEPS_PER_EPOCH),
    "linear over 90 epochs": schedules.linear(0.1, total_steps=90 * STEPS_PER_EPOCH),
    "exponential (0.05% per step)": schedules.exponential(0.1, decay_percent=0.05),
    "constant": schedules.constant(0.1),
    "warmup 5 epochs + cosine": schedules.warmup(
        schedules.cosine(0.1, total_steps=85 * STEPS_PER_EPOCH), warmup_steps=5 * STEPS_PER_EPOCH
    ),
    "cosine restarts every 30 epochs": schedules.cosine_restarts(0.1, period=30 * STEPS_PER_EPOCH),
}
epochs = (0, 1, 5, 29, 30, 45, 60, 89)
print(f"{'schedule':<34}" + "".join(f"{'ep ' + str(e):>9}" for e in epochs))
for name, schedule in tour.items():
    print(f"{name:<34}" + "".join(f"{float(schedule(e * STEPS_PER_EPOCH)):>9.4f}" for e in epochs))
