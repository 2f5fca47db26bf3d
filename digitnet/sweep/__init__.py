"""Hyperparameter sweeps on Optuna (an optional extra: pip install digitnet[sweep]).

space.py   `--space` texts -> dimensions, and the settings a trial samples from them
study.py   the study (a journal file or a database any number of processes share) and its trials
results.py the study read back: kept models, history, importances
"""
