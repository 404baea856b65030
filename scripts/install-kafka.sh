#!/usr/bin/env bash
# Install Apache Kafka, the broker the kafka-topics connector's tests and benchmark catalogue.
#
# Kafka is fetched as its Maven Central jars (kafka_2.13 for the broker, kafka-tools for the command-line
# tools) with `mvn dependency:copy-dependencies` and a throw-away pom, so only Maven Central is needed.
# Idempotent: the jars go to ${METAFERRY_KAFKA_DIR}/<version>/libs and a second run only checks them and
# prints. Maven's local repository lives under the cache root too. The last line of stdout is the libs
# directory (the broker runs as `java -cp '<libs>/*' kafka.Kafka server.properties`); progress goes to stderr.
#
# Environment:
#   METAFERRY_KAFKA_DIR      cache root (default ~/.cache/metaferry/kafka); never inside the repo
#   METAFERRY_KAFKA_VERSION  the Kafka version (default below)
#   METAFERRY_BUILD_TIMEOUT  seconds allowed for the download (default 1800)
#   MVN                      the mvn command (default: mvn on PATH)
set -euo pipefail

version=${METAFERRY_KAFKA_VERSION:-4.4.0}
root=${METAFERRY_KAFKA_DIR:-$HOME/.cache/metaferry/kafka}
timeout_s=${METAFERRY_BUILD_TIMEOUT:-1800}
dest=$root/$version
libs=$dest/libs

log() { printf 'install-kafka: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

works() {
  [[ -f $dest/.complete ]] && compgen -G "$libs/kafka_2.13-$version.jar" >/dev/null \
    && compgen -G "$libs/kafka-tools-$version.jar" >/dev/null
}

mkdir -p "$root"
exec 9>"$root/.lock"
flock 9  # one install at a time per cache root

if works; then
  log "Kafka $version already installed"
else
  MVN=${MVN:-$(command -v mvn || true)}
  [[ -n $MVN ]] || die "Maven (mvn) is needed to fetch Kafka $version from Maven Central (apt-get install maven)"
  command -v java >/dev/null || die "a Java runtime (>= 17) is needed to run Kafka (apt-get install default-jre-headless)"
  rm -rf "$dest.partial"
  mkdir -p "$dest.partial/libs"
  cat >"$dest.partial/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>metaferry.test</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$version</version></dependency>
  </dependencies>
</project>
POM
  log "fetching Kafka $version jars from Maven Central (timeout ${timeout_s}s)"
  started=$SECONDS
  timeout "$timeout_s" "$MVN" --batch-mode --quiet -f "$dest.partial/pom.xml" \
      -Dmaven.repo.local="$root/m2" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$dest.partial/libs" >&2 \
    || die "mvn dependency:copy-dependencies for org.apache.kafka:kafka_2.13:$version failed or timed out (see above)"
  log "Kafka jars fetched in $((SECONDS - started))s"
  java -cp "$dest.partial/libs/*" kafka.tools.StorageTool --help >/dev/null 2>&1 \
    || java -cp "$dest.partial/libs/*" org.apache.kafka.tools.StorageTool --help >/dev/null 2>&1 \
    || log "warning: could not run the storage tool's --help (the broker start will tell)"
  touch "$dest.partial/.complete"
  rm -rf "$dest"
  mv "$dest.partial" "$dest"
fi

echo "$libs"
