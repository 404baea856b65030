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
#
# Maven and a Java runtime >= 17 are installed with apt-get (as root, or with sudo -n) when missing.
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

java_major() { java -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print v[1]; exit }'; }

ensure_java_and_maven() {
  if command -v java >/dev/null && (( $(java_major) >= 17 )) && { [[ -n ${MVN:-} ]] || command -v mvn >/dev/null; }; then
    return
  fi
  command -v apt-get >/dev/null || die "Kafka needs Maven and a Java runtime >= 17: install them with your package manager"
  local as_root=()
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || die "not root and no sudo: run 'apt-get install -y maven default-jre-headless' as root"
    as_root=(sudo -n)
  fi
  log "installing maven and default-jre-headless"
  "${as_root[@]}" apt-get update -qq >&2
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    maven default-jre-headless >&2
  (( $(java_major) >= 17 )) || die "the installed Java is older than 17; Kafka $version needs 17 or later"
}

ensure_java_and_maven
mkdir -p "$root"
exec 9>"$root/.lock"
flock 9  # one install at a time per cache root

if works; then
  log "Kafka $version already installed"
else
  MVN=${MVN:-$(command -v mvn)}
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
  java -cp "$dest.partial/libs/*" kafka.tools.StorageTool random-uuid >/dev/null 2>&1 \
    || die "the fetched jars do not run kafka-storage (kafka.tools.StorageTool)"
  touch "$dest.partial/.complete"
  rm -rf "$dest"
  mv "$dest.partial" "$dest"
fi

echo "$libs"
