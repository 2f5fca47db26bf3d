"""What digitnet writes and reads back: model files, training histories, atomic writes.

model_file.py   model files (.npz arrays and a JSON header, no pickle)
history.py      training histories beside a model (JSON, CSV, cost curve), and read back
atomic.py       writing a file so it is complete or absent, never half-written
formats.py      probabilities as text, and the file types figures are saved as
"""
