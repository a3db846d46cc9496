# ClusterWatch — `make run` starts everything on the embedded default, `make test` passes the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run web scheduler test messages lint format up clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project with its test tools

run: install ## Run database, demo data, scheduler and console in one process (port: CLUSTERWATCH_PORT, default 8000)
	$(BIN)/clusterwatch run

web: install ## Run the console alone (no scheduler)
	$(BIN)/clusterwatch web

scheduler: install ## Run the scheduler alone
	$(BIN)/clusterwatch scheduler

test: install ## Run the whole test suite (PostgreSQL too when CLUSTERWATCH_TEST_DATABASE_URL is set)
	$(BIN)/python -m pytest

messages: install ## Refresh the message catalogues from the code, then translate the new entries
	$(BIN)/pybabel extract -F web/babel.cfg -k _l -k AlertError -k SourceError \
		-o web/translations/messages.pot web alerts monitor
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d web/translations

lint: install ## Check style with ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## Format with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

up: ## Start the deployment (PostgreSQL, console, scheduler, mail catcher) with Docker Compose
	docker compose up --build

clean: ## Remove the virtual environment and local data
	rm -rf $(VENV) var
