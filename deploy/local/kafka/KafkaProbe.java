// Readiness probe for the local test broker (used by ../kafka.sh).
//
//   java -cp 'libs/*:probe' KafkaProbe BOOTSTRAP [DEADLINE_MS]
//
// Sends real requests (DescribeCluster, then Metadata via listTopics) and
// exits 0 once the broker answers with at least one live broker and a
// controller; exits 1 if that has not happened before the deadline.
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;

public final class KafkaProbe {
    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: KafkaProbe BOOTSTRAP [DEADLINE_MS]");
            System.exit(2);
        }
        long deadline = System.currentTimeMillis()
                + (args.length > 1 ? Long.parseLong(args[1]) : 5000L);
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "lumbung-probe");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
        p.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "100");
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "100");
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
        String last = "no attempt";
        try (Admin admin = Admin.create(p)) {
            while (System.currentTimeMillis() < deadline) {
                try {
                    DescribeClusterResult c = admin.describeCluster();
                    int nodes = c.nodes().get(3, TimeUnit.SECONDS).size();
                    boolean controller = !c.controller().get(3, TimeUnit.SECONDS).isEmpty();
                    admin.listTopics().names().get(3, TimeUnit.SECONDS);
                    if (nodes > 0 && controller) {
                        System.out.println("ok nodes=" + nodes);
                        return;
                    }
                    last = "nodes=" + nodes + " controller=" + controller;
                } catch (Exception e) {
                    last = String.valueOf(e.getCause() != null ? e.getCause() : e);
                }
                Thread.sleep(200);
            }
        }
        System.err.println("not ready: " + last);
        System.exit(1);
    }
}
