"""A real dbt project for the dbt-project connector's tests, built by dbt-core + dbt-duckdb on a DuckDB file.

The shop project has four source tables in three sources (created by an `on-run-start` hook, so dbt itself
makes them), two seeds, thirteen models (staging, intermediate, marts), a snapshot, generic and singular
tests, an exposure, a docs block and `meta.glossary` terms. `build_project` writes it, runs `dbt build` and
`dbt docs generate` offline, and keeps `target/manifest.json` and `target/catalog.json` under
~/.cache/metaferry/dbt/projects/<digest of the files and dbt's versions>, so a rerun copies them.

dbt lives in a virtualenv of its own (scripts/install-dbt.sh), never in the project's: it pins many
packages. The install script runs on first use; when it fails the test fails with the command to run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
INSTALL = REPOSITORY / "scripts" / "install-dbt.sh"
PROJECT = "shop"

SOURCES = """
version: 2
sources:
  - name: shop
    description: The web shop's database.
    schema: main
    tables:
      - name: raw_customers
        description: People with an account.
        columns:
          - name: id
            description: "{{ doc('customer_id') }}"
            data_tests: [unique, not_null]
      - name: raw_orders
        description: Orders as placed.
  - name: payments_app
    schema: main
    tables:
      - name: raw_payments
        description: Payments the payment provider confirmed.
  - name: marketing
    schema: main
    tables:
      - name: raw_campaigns
"""

MODELS_YML = """
version: 2
models:
  - name: stg_customers
    description: One row per customer, cleaned.
    columns:
      - name: customer_id
        description: "{{ doc('customer_id') }}"
        data_tests: [unique, not_null]
  - name: stg_orders
    columns:
      - name: order_id
        data_tests: [unique, not_null]
      - name: status
        data_tests:
          - accepted_values:
              arguments:
                values: [placed, shipped, completed, returned]
  - name: dim_customers
    description: Customers with their order history.
    config:
      meta:
        glossary: [Customer]
    columns:
      - name: customer_id
        description: "{{ doc('customer_id') }}"
        data_tests:
          - relationships:
              arguments:
                to: ref('stg_customers')
                field: customer_id
      - name: lifetime_value
        description: Everything the customer paid.
        meta:
          glossary: Revenue
  - name: fct_orders
    description: One row per order, with its payments.
    columns:
      - name: amount
        description: What the order was paid.
        meta:
          glossary: [Revenue]
exposures:
  - name: revenue_dashboard
    label: Revenue dashboard
    type: dashboard
    maturity: high
    url: https://bi.example.com/dashboards/revenue
    description: Revenue by day and customer.
    owner:
      name: Finance analytics
      email: finance@example.com
    depends_on:
      - ref('fct_orders')
      - ref('customer_ltv')
"""

DOCS = """{% docs customer_id %}
The identifier of a customer in the web shop.
{% enddocs %}
"""

MODELS = {
    "staging/stg_customers.sql": "select id as customer_id, name, country from {{ source('shop', 'raw_customers') }}",
    "staging/stg_orders.sql": (
        "select id as order_id, customer_id, status, ordered_on from {{ source('shop', 'raw_orders') }}"
    ),
    "staging/stg_payments.sql": (
        "select id as payment_id, order_id, amount from {{ source('payments_app', 'raw_payments') }}"
    ),
    "staging/stg_campaigns.sql": (
        "select id as campaign_id, name, budget from {{ source('marketing', 'raw_campaigns') }}"
    ),
    "staging/stg_countries.sql": "select code as country, name as country_name from {{ ref('country_codes') }}",
    "intermediate/int_order_payments.sql": (
        "select o.order_id, o.customer_id, o.status, o.ordered_on, sum(p.amount) as amount\n"
        "from {{ ref('stg_orders') }} o left join {{ ref('stg_payments') }} p using (order_id)\n"
        "group by 1, 2, 3, 4"
    ),
    "intermediate/int_customer_orders.sql": (
        "select customer_id, count(*) as orders, sum(amount) as lifetime_value\n"
        "from {{ ref('int_order_payments') }} group by 1"
    ),
    "marts/dim_customers.sql": (
        "select c.customer_id, c.name, n.country_name, coalesce(o.orders, 0) as orders,\n"
        "       coalesce(o.lifetime_value, 0) as lifetime_value\n"
        "from {{ ref('stg_customers') }} c\n"
        "left join {{ ref('int_customer_orders') }} o using (customer_id)\n"
        "left join {{ ref('stg_countries') }} n using (country)"
    ),
    "marts/fct_orders.sql": (
        "select p.order_id, p.customer_id, s.label as status, p.ordered_on, p.amount\n"
        "from {{ ref('int_order_payments') }} p left join {{ ref('order_statuses') }} s on s.status = p.status"
    ),
    "marts/customer_ltv.sql": "select customer_id, lifetime_value from {{ ref('dim_customers') }} where orders > 0",
    "marts/daily_revenue.sql": "select ordered_on, sum(amount) as revenue from {{ ref('fct_orders') }} group by 1",
    "marts/orders_by_status.sql": "select status, count(*) as orders from {{ ref('fct_orders') }} group by 1",
    "marts/campaign_performance.sql": (
        "select campaign_id, name, budget, (select sum(revenue) from {{ ref('daily_revenue') }}) as revenue\n"
        "from {{ ref('stg_campaigns') }}"
    ),
}

RAW_TABLES = [
    "create or replace table main.raw_customers as"
    " select * from (values (1, 'Ada', 'GB'), (2, 'Grace', 'US'), (3, 'Linus', 'FI')) t(id, name, country)",
    "create or replace table main.raw_orders as select * from (values"
    " (10, 1, 'completed', date '2026-01-02'), (11, 2, 'shipped', date '2026-01-03'),"
    " (12, 1, 'placed', date '2026-01-04')) t(id, customer_id, status, ordered_on)",
    "create or replace table main.raw_payments as"
    " select * from (values (100, 10, 25.5), (101, 11, 12.0), (102, 12, 7.25)) t(id, order_id, amount)",
    "create or replace table main.raw_campaigns as"
    " select * from (values (1, 'Spring', 1000.0), (2, 'Summer', 1500.0)) t(id, name, budget)",
]

SNAPSHOT = """
snapshots:
  - name: customers_snapshot
    description: Every version of each customer.
    relation: source('shop', 'raw_customers')
    config:
      unique_key: id
      strategy: check
      check_cols: all
"""

SINGULAR_TEST = "select * from {{ ref('fct_orders') }} where amount < 0"

SEEDS = {
    "country_codes.csv": "code,name\nGB,United Kingdom\nUS,United States\nFI,Finland\n",
    "order_statuses.csv": "status,label\nplaced,Placed\nshipped,Shipped\ncompleted,Completed\nreturned,Returned\n",
}


def project_files(*, without: tuple[str, ...] = ()) -> dict[str, str]:
    """The project's files, by path; `without` leaves models out (by name)."""
    hooks = "\n".join(f'  - "{statement}"' for statement in RAW_TABLES)
    files = {
        "dbt_project.yml": (
            f"name: {PROJECT}\nversion: '1.0'\nconfig-version: 2\nprofile: {PROJECT}\n"
            f"on-run-start:\n{hooks}\n"
            "models:\n  shop:\n    staging:\n      +materialized: view\n    marts:\n      +materialized: table\n"
        ),
        "profiles.yml": (
            f"{PROJECT}:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
            "      path: warehouse.duckdb\n      threads: 1\n"
        ),
        "models/sources.yml": SOURCES,
        "models/schema.yml": MODELS_YML,
        "models/docs.md": DOCS,
        "snapshots/customers_snapshot.yml": SNAPSHOT,
        "tests/assert_no_negative_amounts.sql": SINGULAR_TEST,
    }
    files.update({f"seeds/{name}": text for name, text in SEEDS.items()})
    for path, sql in MODELS.items():
        if Path(path).stem not in without:
            files[f"models/{path}"] = sql + "\n"
    if "campaign_performance" not in without and "daily_revenue" in without:
        raise ValueError("campaign_performance needs daily_revenue")
    return files


def dbt_executable() -> Path:
    """dbt from its test-only virtualenv, installed on first use; a failure fails the test with the command."""
    result = subprocess.run([str(INSTALL)], capture_output=True, text=True, timeout=1800, check=False)
    if result.returncode != 0:
        pytest.fail(
            f"dbt is not installed and {INSTALL} could not install it (it needs PyPI); run it by hand to see why:\n"
            f"{result.stderr[-2000:]}",
            pytrace=False,
        )
    return Path(result.stdout.strip().splitlines()[-1])


def build_project(destination: Path, *, without: tuple[str, ...] = ()) -> Path:
    """The project's target/ (manifest.json, catalog.json) in `destination`, built or copied from the cache."""
    dbt = dbt_executable()
    files = project_files(without=without)
    key = hashlib.sha256(repr((sorted(files.items()), str(dbt.resolve()))).encode()).hexdigest()[:16]
    cached = Path(os.environ.get("METAFERRY_DBT_DIR", Path.home() / ".cache/metaferry/dbt")) / "projects" / key
    if not (cached / "catalog.json").is_file():
        _build(dbt, files, cached)
    target = destination / "target"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("manifest.json", "catalog.json"):
        shutil.copyfile(cached / name, target / name)
    return target


def _build(dbt: Path, files: dict[str, str], cached: Path) -> None:
    work = cached.with_name(cached.name + ".work")
    shutil.rmtree(work, ignore_errors=True)
    for path, text in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(text)
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_VERSION_CHECK": "false",
        "DO_NOT_TRACK": "1",
        "DBT_PROFILES_DIR": str(work),
    }
    for command in (["build"], ["docs", "generate"]):
        result = subprocess.run(
            [str(dbt), *command, "--project-dir", str(work)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"dbt {' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    cached.mkdir(parents=True, exist_ok=True)
    for name in ("manifest.json", "catalog.json"):
        shutil.copyfile(work / "target" / name, cached / name)
    shutil.rmtree(work, ignore_errors=True)
