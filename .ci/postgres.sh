# Sourced by .ci/run (bash). start_test_postgres gives the store tests a
# PostgreSQL 15 server with PostGIS 3: it installs both from Debian when
# they are missing, makes a throwaway cluster in a temp dir (as the
# postgres user when run as root: the server refuses to run as root),
# starts it on a Unix socket in that dir only (no TCP port), creates the
# database "tidewatch" (ICU en-US collation, so tests see that the store
# does not depend on the database's collation) with PostGIS, and exports
# TIDEWATCH_TEST_POSTGRES for the tests. The cluster is stopped and
# deleted when the calling shell exits. A TIDEWATCH_TEST_POSTGRES already
# set is used as it is.
#
# Usage outside CI:  source .ci/postgres.sh && start_test_postgres

PG_VERSION=15
PG_BIN=/usr/lib/postgresql/$PG_VERSION/bin
PG_SHARE=/usr/share/postgresql/$PG_VERSION

start_test_postgres() {
	if [ -n "${TIDEWATCH_TEST_POSTGRES:-}" ]; then
		echo "== PostgreSQL: using TIDEWATCH_TEST_POSTGRES as set"
		return 0
	fi
	local sudo=""
	if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
	if [ ! -x "$PG_BIN/postgres" ] || [ ! -f "$PG_SHARE/extension/postgis.control" ]; then
		echo "== installing postgresql-$PG_VERSION and postgresql-$PG_VERSION-postgis-3"
		# The tests make their own cluster: do not let the package create
		# and start the default one.
		if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
			$sudo mkdir -p /etc/postgresql-common
			echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
		fi
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "postgresql-$PG_VERSION" "postgresql-$PG_VERSION-postgis-3" >/dev/null
	fi
	PG_TEST_DIR=$(mktemp -d /tmp/tidewatch-pg.XXXXXX)
	PG_RUNAS=()
	if [ "$(id -u)" = 0 ]; then
		if ! id postgres >/dev/null 2>&1; then
			useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
		fi
		chown postgres: "$PG_TEST_DIR"
		PG_RUNAS=(runuser -u postgres --)
	fi
	trap stop_test_postgres EXIT
	"${PG_RUNAS[@]}" "$PG_BIN/initdb" -D "$PG_TEST_DIR/data" -U tidewatch -A trust -E UTF8 --no-locale >"$PG_TEST_DIR/initdb.log" 2>&1 ||
		{ cat "$PG_TEST_DIR/initdb.log"; return 1; }
	# A test server: no TCP, durability off (the tests never crash the
	# server, and fsync is what makes a small disk slow).
	"${PG_RUNAS[@]}" "$PG_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" -w -t 60 \
		-o "-c listen_addresses='' -k $PG_TEST_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
		start >/dev/null || { cat "$PG_TEST_DIR/server.log"; return 1; }
	"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_TEST_DIR" -U tidewatch -d postgres \
		-c "CREATE DATABASE tidewatch TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'" || return 1
	"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_TEST_DIR" -U tidewatch -d tidewatch -c "CREATE EXTENSION postgis" || return 1
	export TIDEWATCH_TEST_POSTGRES="postgres:///tidewatch?host=$PG_TEST_DIR&user=tidewatch"
	echo "== PostgreSQL $("$PG_BIN/postgres" -V | awk '{print $3}') with PostGIS $("$PG_BIN/psql" -X -tA -h "$PG_TEST_DIR" -U tidewatch -d tidewatch -c 'SELECT postgis_lib_version()') at $TIDEWATCH_TEST_POSTGRES"
}

stop_test_postgres() {
	if [ -n "${PG_TEST_DIR:-}" ] && [ -d "$PG_TEST_DIR/data" ]; then
		"${PG_RUNAS[@]}" "$PG_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	if [ -n "${PG_TEST_DIR:-}" ]; then rm -rf "$PG_TEST_DIR"; fi
}
