import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginsLoader;

/**
 * Runs one single-node Elasticsearch on loopback from the server jars on the class path.
 *
 * <p>The published server jar has no launcher of its own, so this one builds the node the way
 * the distribution does, minus the CLI: settings, logging to stdout, and the modules found under
 * {@code <home>/modules} (only transport-netty4, which serves HTTP).
 *
 * <p>Usage: {@code Launcher HOME HTTP_PORT TRANSPORT_PORT}
 */
public final class Launcher {
    private Launcher() {}

    public static void main(String[] args) throws Exception {
        Path home = Path.of(args[0]).toAbsolutePath();
        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "cyanite")
            .put("node.name", "cyanite")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", args[1])
            .put("transport.port", args[2])
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();
        Files.createDirectories(home.resolve("config"));
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName("cyanite");
        LogConfigurator.configureESLogging();
        LogConfigurator.configureWithoutConfig(settings);
        Environment environment = new Environment(settings, home.resolve("config"));
        PluginsLoader plugins = PluginsLoader.createPluginsLoader(
            PluginsLoader.loadModulesBundles(environment.modulesDir(), false), Set.of(), Map.of(), false);
        Node node = new Node(environment, plugins);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            close(node);
            stopped.countDown();
        }));
        node.start();
        stopped.await(); // the node's own threads are daemons: keep the JVM alive until TERM
    }

    private static void close(Node node) {
        try {
            node.close();
            node.awaitClose(20, TimeUnit.SECONDS);
        } catch (Exception e) {
            e.printStackTrace();
        }
    }
}
