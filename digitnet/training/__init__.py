"""Training a network: settings, named recipes, building, the training loop, resuming.

config.py       ModelConfig and TrainConfig: every setting, validated
presets.py      the named recipes (the seeds' networks and the modern ones)
build.py        a ModelConfig -> a Sequential network
augment.py      shifted, rotated and elastically distorted training images
trainer.py      the training loop: epochs, schedules, validation, early stopping
pipeline.py     the steps of a run: data prepared, the network fitted, its metadata
run.py          train_run, the one entry point: a run from settings to files, resumable
checkpoint.py   saving an interrupted run and resuming it
reproduce.py    the seed presets under their seeds' setups, beside their reported figures
ensembles.py    trained model files combined into one ensemble
"""
