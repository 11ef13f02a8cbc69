# shellcheck shell=bash
# One Apache Cassandra node on loopback for the tests, installed from Maven Central's jars.
#
# Sourced by scripts/services. Everything lives in $CYANITE_CACHE/cassandra-$CASSANDRA_VERSION/:
# lib/ (the jars), conf/ (generated), data/, logs/cassandra.log and cassandra.pid.
#
#   CASSANDRA_VERSION        default 5.0.9
#   CASSANDRA_PORT           CQL port, default 9042
#   CASSANDRA_STORAGE_PORT   inter-node port, default 7000 (bound on 127.0.0.1 only)
#   CASSANDRA_HEAP           JVM heap, default 1G
#   CASSANDRA_START_TIMEOUT  seconds to wait for the CQL port, default 300
#   CASSANDRA_JAVA_HOME      a Java 17 (or 11) to run it with; else $JAVA_HOME, PATH, /usr/lib/jvm

CASSANDRA_VERSION=${CASSANDRA_VERSION:-5.0.9}
CASSANDRA_PORT=${CASSANDRA_PORT:-9042}
CASSANDRA_STORAGE_PORT=${CASSANDRA_STORAGE_PORT:-7000}
CASSANDRA_HEAP=${CASSANDRA_HEAP:-1G}
CASSANDRA_START_TIMEOUT=${CASSANDRA_START_TIMEOUT:-300}
CASSANDRA_HOME=$CYANITE_CACHE/cassandra-$CASSANDRA_VERSION
CASSANDRA_PIDFILE=$CASSANDRA_HOME/cassandra.pid
CASSANDRA_LOG=$CASSANDRA_HOME/logs/cassandra.log

# The module flags of Cassandra's conf/jvm17-server.options: its dependencies reach into
# JDK internals (Chronicle, Netty, jamm) and fail at start-up without them.
CASSANDRA_JVM17_FLAGS=(
    -Djdk.attach.allowAttachSelf=true
    --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
    --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
    --add-exports java.sql/java.sql=ALL-UNNAMED
    --add-exports java.base/java.lang.ref=ALL-UNNAMED
    --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
    --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
    --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
    --add-opens java.base/java.lang.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
    --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
    --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
    --add-opens java.base/jdk.internal.math=ALL-UNNAMED
    --add-opens java.base/jdk.internal.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
    --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
    --add-opens java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens java.base/java.io=ALL-UNNAMED
    --add-opens java.base/java.lang.reflect=ALL-UNNAMED
    --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
    --add-opens java.base/java.lang=ALL-UNNAMED
    --add-opens java.base/java.util=ALL-UNNAMED
    -Dio.netty.tryReflectionSetAccessible=true
    -Dio.netty.allocator.useCacheForAllThreads=true
    -Dio.netty.allocator.maxOrder=11
)

# cassandra_java: a java binary that Cassandra 5.0 supports (17 or 11).
cassandra_java() {
    local candidate major
    for candidate in ${CASSANDRA_JAVA_HOME:+$CASSANDRA_JAVA_HOME/bin/java} \
        ${JAVA_HOME:+$JAVA_HOME/bin/java} "$(command -v java || true)" \
        /usr/lib/jvm/*17*/bin/java /usr/lib/jvm/*11*/bin/java; do
        [[ -x $candidate ]] || continue
        major=$("$candidate" -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n 1)
        if [[ $major == 17 || $major == 11 ]]; then
            echo "$candidate"
            return 0
        fi
    done
    die "cassandra: needs Java 17 or 11 (set CASSANDRA_JAVA_HOME); apt-get install openjdk-17-jdk-headless"
}

# cassandra_pom: a pom whose only dependency is cassandra-all, for dependency:copy-dependencies.
cassandra_pom() {
    cat <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>cyanite-py.services</groupId>
  <artifactId>cassandra-node</artifactId>
  <version>$CASSANDRA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>$CASSANDRA_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
}

# cassandra_progress: turn Maven's per-file download lines into a line every 25 files.
cassandra_progress() {
    local files=0 line
    while IFS= read -r line; do
        printf '%s\n' "$line" >>"$CASSANDRA_HOME.install.log"
        if [[ $line == *"Downloaded from"* ]]; then
            files=$((files + 1))
            (( files % 25 == 0 )) && say "cassandra: downloaded $files files"
        fi
    done
    say "cassandra: downloaded $files files in all"
}

# cassandra_install: fetch cassandra-all and its runtime dependencies into lib/, once.
cassandra_install() {
    [[ -f $CASSANDRA_HOME/lib/.complete ]] && return 0
    command -v mvn >/dev/null || die "cassandra: mvn is needed to install Cassandra's jars"
    local staging=$CASSANDRA_HOME/lib.partial attempt
    mkdir -p "$CASSANDRA_HOME"
    rm -rf "$staging" "$CASSANDRA_HOME/lib"
    mkdir -p "$staging"
    cassandra_pom >"$CASSANDRA_HOME/pom.xml"
    : >"$CASSANDRA_HOME.install.log"
    say "cassandra: installing $CASSANDRA_VERSION from Maven Central into $CASSANDRA_HOME"
    for attempt in 1 2 3; do
        if mvn -B -f "$CASSANDRA_HOME/pom.xml" \
            -Dmaven.wagon.http.retryHandler.count=3 \
            -Dmaven.wagon.httpconnectionManager.ttlSeconds=60 \
            dependency:copy-dependencies \
            -DincludeScope=runtime -DoutputDirectory="$staging" 2>&1 | cassandra_progress \
            && compgen -G "$staging/cassandra-all-*.jar" >/dev/null; then
            touch "$staging/.complete"
            mv "$staging" "$CASSANDRA_HOME/lib"
            say "cassandra: installed $(find "$CASSANDRA_HOME/lib" -name '*.jar' | wc -l) jars"
            return 0
        fi
        say "cassandra: install attempt $attempt failed; last lines of $CASSANDRA_HOME.install.log:"
        tail -n 15 "$CASSANDRA_HOME.install.log" >&2
        sleep $((attempt * 5))
    done
    die "cassandra: could not install $CASSANDRA_VERSION from Maven Central"
}

# cassandra_configure DIR ADDRESS CQL_PORT STORAGE_PORT SEEDS TOKEN: write cassandra.yaml and
# logback.xml for one node whose conf/, data/ and logs/ live in DIR. The settings are light,
# for a shared 2-core machine: one token a node, few compactors and concurrent requests.
cassandra_configure() {
    local dir=$1 address=$2 cql_port=$3 storage_port=$4 seeds=$5 token=$6
    local conf=$dir/conf data=$dir/data
    mkdir -p "$conf" "$data" "$dir/logs"
    cat >"$conf/cassandra.yaml" <<EOF
cluster_name: cyanite-py
num_tokens: 1
initial_token: $token
auto_bootstrap: false
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "$seeds"
listen_address: $address
rpc_address: $address
storage_port: $storage_port
native_transport_port: $cql_port
start_native_transport: true
data_file_directories:
  - $data/data
commitlog_directory: $data/commitlog
hints_directory: $data/hints
saved_caches_directory: $data/saved_caches
cdc_raw_directory: $data/cdc_raw
commitlog_sync: periodic
commitlog_sync_period: 10000ms
concurrent_compactors: 1
concurrent_reads: 8
concurrent_writes: 16
concurrent_counter_writes: 4
concurrent_materialized_view_writes: 4
auto_snapshot: false
hints_flush_period: 2000ms
# The store sends a write's rows as unlogged batches of up to 32 KiB and 128 rows: below
# these, Cassandra would log a warning for nearly every one of them.
batch_size_warn_threshold: 64KiB
unlogged_batch_across_partitions_warn_threshold: 128
EOF
    cat >"$conf/logback.xml" <<'EOF'
<configuration>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="STDOUT"/></root>
</configuration>
EOF
}

# cassandra_java_args DIR HEAP: the JVM's command line for CassandraDaemon with DIR's conf/.
cassandra_java_args() {
    local dir=$1 heap=$2 jamm
    jamm=$(compgen -G "$CASSANDRA_HOME/lib/jamm-*.jar" | head -n 1)
    printf '%s\n' \
        "-Xms$heap" "-Xmx$heap" -Xss256k \
        -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxGCPauseMillis=300 \
        -XX:+ExitOnOutOfMemoryError \
        "-javaagent:$jamm" \
        "${CASSANDRA_JVM17_FLAGS[@]}" \
        "-Dcassandra.config=file://$dir/conf/cassandra.yaml" \
        "-Dlogback.configurationFile=$dir/conf/logback.xml" \
        "-Dcassandra.storagedir=$dir/data" \
        "-Dcassandra.logdir=$dir/logs" \
        -Dcassandra-foreground=yes \
        -Dcassandra.skip_wait_for_gossip_to_settle=0 \
        -Dcassandra.ring_delay_ms=1000 \
        -cp "$dir/conf:$CASSANDRA_HOME/lib/*" \
        org.apache.cassandra.service.CassandraDaemon
}

# cassandra_launch DIR HEAP PIDFILE LOG: start the node configured in DIR in the background.
cassandra_launch() {
    local dir=$1 heap=$2 pidfile=$3 logfile=$4 java args
    java=$(cassandra_java)
    mapfile -t args < <(cassandra_java_args "$dir" "$heap")
    echo "=== start $(date -u +%FT%TZ)" >>"$logfile"
    (cd "$dir" && exec setsid "$java" "${args[@]}" >>"$logfile" 2>&1 </dev/null) &
    echo $! >"$pidfile"
}

cassandra_start() {
    local lock
    mkdir -p "$CASSANDRA_HOME"
    # One start at a time per install: two would share the data directory.
    exec {lock}>"$CASSANDRA_HOME/start.lock"
    flock "$lock"
    if running "$CASSANDRA_PIDFILE"; then
        say "cassandra: already running (pid $(cat "$CASSANDRA_PIDFILE")) on 127.0.0.1:$CASSANDRA_PORT"
        return 0
    fi
    if port_open 127.0.0.1 "$CASSANDRA_PORT"; then
        die "cassandra: 127.0.0.1:$CASSANDRA_PORT is taken by a process this script did not start"
    fi
    cassandra_java >/dev/null
    cassandra_install
    cassandra_configure "$CASSANDRA_HOME" 127.0.0.1 "$CASSANDRA_PORT" "$CASSANDRA_STORAGE_PORT" \
        "127.0.0.1:$CASSANDRA_STORAGE_PORT" 0
    say "cassandra: starting $CASSANDRA_VERSION (log: $CASSANDRA_LOG)"
    cassandra_launch "$CASSANDRA_HOME" "$CASSANDRA_HEAP" "$CASSANDRA_PIDFILE" "$CASSANDRA_LOG" {lock}>&-
    if ! wait_port 127.0.0.1 "$CASSANDRA_PORT" "$CASSANDRA_START_TIMEOUT" "$CASSANDRA_PIDFILE"; then
        say "cassandra: did not open 127.0.0.1:$CASSANDRA_PORT; last lines of $CASSANDRA_LOG:"
        tail -n 40 "$CASSANDRA_LOG" >&2
        stop_pid "$CASSANDRA_PIDFILE" cassandra
        die "cassandra: failed to start"
    fi
    say "cassandra: listening on 127.0.0.1:$CASSANDRA_PORT (CQL)"
    echo "127.0.0.1:$CASSANDRA_PORT"
}

cassandra_stop() {
    stop_pid "$CASSANDRA_PIDFILE" cassandra
}

cassandra_status() {
    if running "$CASSANDRA_PIDFILE"; then
        echo "cassandra: running (pid $(cat "$CASSANDRA_PIDFILE")) on 127.0.0.1:$CASSANDRA_PORT"
    elif [[ -f $CASSANDRA_HOME/lib/.complete ]]; then
        echo "cassandra: stopped ($CASSANDRA_VERSION installed in $CASSANDRA_HOME)"
    else
        echo "cassandra: not installed"
    fi
}
