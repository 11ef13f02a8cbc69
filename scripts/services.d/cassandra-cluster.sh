# shellcheck shell=bash
# A Cassandra cluster of N nodes on loopback addresses 127.0.0.1 … 127.0.0.N, for the tests
# that stop a replica under load. It shares the jars of the single node (cassandra.sh) and
# none of its ports: every node listens for CQL on $CASSANDRA_CLUSTER_PORT (default 9142) and
# for its peers on $CASSANDRA_CLUSTER_STORAGE_PORT (default 7100) of its own address, so the
# single node on 127.0.0.1:9042 keeps running beside it.
#
# Each node has its folder $CYANITE_CACHE/cassandra-cluster/nodeK/ (conf/, data/,
# logs/cassandra.log, cassandra.pid) and one token of an even split of the ring, so every
# node starts at once, as a seed, without bootstrapping.
#
#   scripts/services start cassandra-cluster [K]   every node (or node K), then wait for the ring
#   scripts/services stop cassandra-cluster [K]    every node at once (or node K)
#
#   CASSANDRA_CLUSTER_NODES         nodes, default 3 (at most 9)
#   CASSANDRA_CLUSTER_PORT          CQL port of every node, default 9142
#   CASSANDRA_CLUSTER_STORAGE_PORT  inter-node port of every node, default 7100
#   CASSANDRA_CLUSTER_HEAP          heap of each node, default 768M

CASSANDRA_CLUSTER_NODES=${CASSANDRA_CLUSTER_NODES:-3}
CASSANDRA_CLUSTER_PORT=${CASSANDRA_CLUSTER_PORT:-9142}
CASSANDRA_CLUSTER_STORAGE_PORT=${CASSANDRA_CLUSTER_STORAGE_PORT:-7100}
CASSANDRA_CLUSTER_HEAP=${CASSANDRA_CLUSTER_HEAP:-768M}
CASSANDRA_CLUSTER_HOME=$CYANITE_CACHE/cassandra-cluster

cluster_node_dir() { echo "$CASSANDRA_CLUSTER_HOME/node$1"; }

# cluster_nodes [K]: the node numbers an action is for: K alone, or every node.
cluster_nodes() {
    if [[ -n ${1:-} ]]; then
        [[ $1 =~ ^[1-9]$ ]] && (($1 <= CASSANDRA_CLUSTER_NODES)) ||
            die "cassandra-cluster: no node $1 (nodes 1-$CASSANDRA_CLUSTER_NODES)"
        echo "$1"
    else
        seq "$CASSANDRA_CLUSTER_NODES"
    fi
}

# cluster_token K: node K's token, the K-th of N evenly spaced on Murmur3's ring.
cluster_token() {
    python3 -c "import sys; k, n = map(int, sys.argv[1:]); print(-2**63 + (k - 1) * (2**64 // n))" \
        "$1" "$CASSANDRA_CLUSTER_NODES"
}

# cluster_addresses PORT: "127.0.0.1:PORT,127.0.0.2:PORT,…", one per node.
cluster_addresses() {
    local k addresses=()
    for k in $(seq "$CASSANDRA_CLUSTER_NODES"); do
        addresses+=("127.0.0.$k:$1")
    done
    local IFS=,
    echo "${addresses[*]}"
}

# cluster_sees_all K: whether node K's log, since its last start, says every other node is up.
cluster_sees_all() {
    local k=$1 other log
    log=$(sed -n '/^=== start/h; /^=== start/!H; ${x;p}' "$(cluster_node_dir "$k")/logs/cassandra.log")
    for other in $(seq "$CASSANDRA_CLUSTER_NODES"); do
        ((other == k)) && continue
        grep -q "/127.0.0.$other:$CASSANDRA_CLUSTER_STORAGE_PORT is now UP" <<<"$log" || return 1
    done
}

cassandra_cluster_start() {
    local k nodes dir started=()
    nodes=$(cluster_nodes "${1:-}") || return 1
    cassandra_java >/dev/null
    cassandra_install
    local begin=$SECONDS
    for k in $nodes; do
        dir=$(cluster_node_dir "$k")
        if running "$dir/cassandra.pid"; then
            say "cassandra-cluster: node $k already running (pid $(cat "$dir/cassandra.pid"))"
            continue
        fi
        port_open "127.0.0.$k" "$CASSANDRA_CLUSTER_PORT" &&
            die "cassandra-cluster: 127.0.0.$k:$CASSANDRA_CLUSTER_PORT is taken by a process this script did not start"
        cassandra_configure "$dir" "127.0.0.$k" "$CASSANDRA_CLUSTER_PORT" \
            "$CASSANDRA_CLUSTER_STORAGE_PORT" "$(cluster_addresses "$CASSANDRA_CLUSTER_STORAGE_PORT")" "$(cluster_token "$k")"
        say "cassandra-cluster: starting node $k on 127.0.0.$k (log: $dir/logs/cassandra.log)"
        cassandra_launch "$dir" "$CASSANDRA_CLUSTER_HEAP" "$dir/cassandra.pid" "$dir/logs/cassandra.log"
        started+=("$k")
    done
    for k in "${started[@]}"; do
        dir=$(cluster_node_dir "$k")
        if ! wait_port "127.0.0.$k" "$CASSANDRA_CLUSTER_PORT" "$CASSANDRA_START_TIMEOUT" "$dir/cassandra.pid"; then
            tail -n 40 "$dir/logs/cassandra.log" >&2
            die "cassandra-cluster: node $k did not open 127.0.0.$k:$CASSANDRA_CLUSTER_PORT"
        fi
    done
    # A node serves CQL before gossip has told it of its peers: wait until each started
    # node has seen every other one, so a client finds the whole ring at once.
    local waited=0
    for k in "${started[@]}"; do
        until cluster_sees_all "$k"; do
            running "$(cluster_node_dir "$k")/cassandra.pid" || die "cassandra-cluster: node $k exited"
            ((waited++ < CASSANDRA_START_TIMEOUT)) || die "cassandra-cluster: node $k does not see its peers"
            sleep 1
        done
    done
    ((${#started[@]})) && say "cassandra-cluster: node(s) ${started[*]} up in $((SECONDS - begin)) s"
    cluster_addresses "$CASSANDRA_CLUSTER_PORT"  # where clients connect, as CASSANDRA_CLUSTER_HOSTS takes them
}

# Nodes stop in parallel: each drains and flushes on TERM, which takes seconds, and no node
# waits for another to stop.
cassandra_cluster_stop() {
    local k nodes stopper stoppers=() failed=0
    nodes=$(cluster_nodes "${1:-}") || return 1
    for k in $nodes; do
        stop_pid "$(cluster_node_dir "$k")/cassandra.pid" "cassandra-cluster node $k" &
        stoppers+=("$!")
    done
    for stopper in "${stoppers[@]}"; do
        wait "$stopper" || failed=1
    done
    return "$failed"
}

cassandra_cluster_status() {
    local k dir
    for k in $(seq "$CASSANDRA_CLUSTER_NODES"); do
        dir=$(cluster_node_dir "$k")
        if running "$dir/cassandra.pid"; then
            echo "cassandra-cluster: node $k running (pid $(cat "$dir/cassandra.pid")) on 127.0.0.$k:$CASSANDRA_CLUSTER_PORT"
        else
            echo "cassandra-cluster: node $k stopped"
        fi
    done
}
