# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := web/static/vendor
VENDOR_STAMP := $(VENDOR)/.installed

.PHONY: run test setup browser clean translations messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Browser libraries from npm (package-lock.json pins them), served from web/static/vendor.
# The studio's modeller (bpmn-js, properties panel, bpmnlint, dmn-js) is bundled by esbuild.
$(VENDOR_STAMP): package.json package-lock.json web/modeler/modeler.js web/modeler/modeler.css web/modeler/build.mjs
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)/bpmn-js $(VENDOR)/echarts
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js node_modules/bpmn-js/dist/assets/*.css $(VENDOR)/bpmn-js/
	cp -r node_modules/bpmn-js/dist/assets/bpmn-font $(VENDOR)/bpmn-js/
	node web/modeler/build.mjs $(VENDOR)/studio
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts/
	mkdir -p $(VENDOR)/leaflet
	cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css $(VENDOR)/leaflet/
	cp -r node_modules/leaflet/dist/images $(VENDOR)/leaflet/
	mkdir -p $(VENDOR)/pmtiles
	cp node_modules/pmtiles/dist/pmtiles.js $(VENDOR)/pmtiles/
	touch $@

## Compile the page catalogues (web/translations/*/LC_MESSAGES/messages.po -> .mo)
translations: $(STAMP)
	@$(BIN)/pybabel compile -f -d web/translations

## After changing page texts: collect them and merge them into the catalogues, then translate
## the new entries in web/translations/zh/LC_MESSAGES/messages.po.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k l_ -k Message -o web/translations/messages.pot web engine
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations

setup: $(STAMP) $(VENDOR_STAMP) translations

## Set up, create the demo database on first run (migrate it on later runs), and serve on http://127.0.0.1:5000
run: setup
	@$(BIN)/gridflow processes validate
	@if [ ! -f instance/gridflow.db ] && [ -z "$$GRIDFLOW_DATABASE_URL" ]; then $(BIN)/gridflow init --demo; fi
	@$(BIN)/gridflow db upgrade
	@$(BIN)/gridflow processes deploy
	GRIDFLOW_DEMO=$${GRIDFLOW_DEMO:-true} $(BIN)/gridflow serve

## Chromium (Debian's) and CJK fonts for the browser tests, installed when missing and possible
browser:
	@sh tools/ensure-chromium

## Set up and run the whole test suite (SQLite; PostgreSQL too when GRIDFLOW_TEST_DATABASE_URL is set)
test: setup browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache node_modules $(VENDOR)
