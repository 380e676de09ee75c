# Two commands set up everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test reproduce bench clean-venv

# The virtual environment with the locked versions (requirements.lock: requirements.txt, pytest
# and every dependency, exact), re-installed whenever the lock changes. trackeval (HOTA) goes in a
# separate --no-deps step: with its declared dependencies pip would add opencv-python beside our
# opencv-python-headless (both own cv2), pycocotools and tabulate; its HOTA code needs none of them.
$(VENV)/.installed: requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	grep -v '^trackeval==' requirements.lock > $(VENV)/lock-without-trackeval.txt
	$(PY) -m pip install -q -r $(VENV)/lock-without-trackeval.txt
	$(PY) -m pip install -q --no-deps $$(grep '^trackeval==' requirements.lock)
	touch $@

# Synthetic data -> self-supervised training -> tracking -> evaluation, on a 2-core CPU in
# about 6 minutes; outputs in runs/demo/. Fails (exit 1) if the trained model does not beat the
# untrained one by the bar (+10 MVIDF1, +5 IDF1).
demo: $(VENV)/.installed
	$(PY) -m tools.demo

test: $(VENV)/.installed
	$(PY) -m pytest -q

# The method, tracker, training and journal ablation tables (every row a real run); CPU: about
# 2 hours.
reproduce: $(VENV)/.installed
	$(PY) -m tools.reproduce

bench: $(VENV)/.installed
	$(PY) -m bench.loader_throughput

clean-venv:
	rm -rf $(VENV)
