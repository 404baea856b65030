"""Run DataHub's own CLI (`datahub ingest ...`) with nothing sent off this machine; runs in the DataHub virtualenv.

`datahub` reports telemetry and asks a public code host for its latest release (as a pipeline starts and
after each command); the tests reach only loopback, so telemetry is turned off (DATAHUB_TELEMETRY_ENABLED=false,
set by the caller) and the release check is replaced by a no-op before the CLI's entry point runs. Everything
else is the CLI as installed. Usage: `<virtualenv>/bin/python datahub_offline.py ingest -c recipe.yml ...`.
"""

import sys

import datahub.ingestion.run.pipeline as pipeline
import datahub.upgrade.upgrade as upgrade

upgrade.check_upgrade_post = lambda *args, **kwargs: None  # the release check, called after every command
pipeline.retrieve_version_stats = lambda *args, **kwargs: None  # the same check, as a pipeline starts

from datahub.entrypoints import main  # noqa: E402  (after the patch, as the CLI imports it)

if __name__ == "__main__":
    sys.argv[0] = "datahub"
    sys.exit(main())
