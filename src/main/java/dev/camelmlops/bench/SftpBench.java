package dev.camelmlops.bench;

import com.jcraft.jsch.JSch;
import com.jcraft.jsch.KeyPair;
import dev.camelmlops.deploy.DeployTarget;
import dev.camelmlops.deploy.SftpSettings;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PublicKey;
import java.util.LinkedHashMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.sshd.common.config.keys.AuthorizedKeyEntry;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;
import org.apache.sshd.common.file.virtualfs.VirtualFileSystemFactory;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.auth.pubkey.KeySetPublickeyAuthenticator;
import org.apache.sshd.server.keyprovider.SimpleGeneratorHostKeyProvider;
import org.apache.sshd.sftp.server.SftpSubsystemFactory;

/**
 * SFTP deploy throughput: a synthetic bundle shipped through the same Camel sftp endpoint the
 * deploy stage uses, to Apache MINA SSHD in process on loopback; beside it the same files sent
 * to the same server by OpenSSH's {@code sftp -b} when it is installed. Also the heap growth
 * during the upload (it should stay flat: files are streamed; the peak of used heap includes
 * garbage not yet collected, the heap after a GC once all uploads are done is what stayed). Repeated, the two interleaved;
 * medians reported.
 */
final class SftpBench {
    private SftpBench() {
    }

    /** Runs the SFTP benchmark in a child JVM with a 256 MB heap: a bundle must stream, not sit in memory. */
    static Map<String, Object> inChildJvm(Path dir, long totalBytes, int repeats) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Path out = dir.resolve("sftp-result.json");
        Process p = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                SftpBench.class.getName(), dir.toString(), Long.toString(totalBytes), out.toString(),
                Integer.toString(repeats))
                .redirectErrorStream(true).redirectOutput(dir.resolve("sftp-child.log").toFile()).start();
        if (!p.waitFor(15, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("SFTP benchmark did not finish in 15 minutes");
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException("SFTP benchmark with -Xmx256m failed (exit " + p.exitValue() + "): "
                    + Files.readString(dir.resolve("sftp-child.log")).lines().filter(l -> l.contains("Exception")
                    || l.contains("Error")).findFirst().orElse("see " + dir));
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> r = new com.fasterxml.jackson.databind.ObjectMapper().readValue(out.toFile(), Map.class);
        r.put("jvm", "child JVM with -Xmx256m");
        return r;
    }

    public static void main(String[] args) throws Exception {
        Map<String, Object> r = run(Path.of(args[0]), Long.parseLong(args[1]), Integer.parseInt(args[3]));
        new com.fasterxml.jackson.databind.ObjectMapper().writeValue(Path.of(args[2]).toFile(), r);
        System.exit(0);
    }

    static Map<String, Object> run(Path dir, long totalBytes, int repeats) throws Exception {
        Path root = Files.createDirectories(dir.resolve("sftp-root"));
        Path bundle = Files.createDirectories(dir.resolve("bundle"));
        int files = 4;
        byte[] chunk = new byte[1 << 20];
        new SplittableRandom(7).nextBytes(chunk);
        for (int f = 0; f < files; f++) {
            try (OutputStream out = Files.newOutputStream(bundle.resolve("part-" + f + ".bin"))) {
                for (long w = 0; w < totalBytes / files; w += chunk.length) {
                    out.write(chunk, 0, (int) Math.min(chunk.length, totalBytes / files - w));
                }
            }
        }
        JSch jsch = new JSch();
        KeyPair kp = KeyPair.genKeyPair(jsch, KeyPair.RSA, 2048);
        Path key = dir.resolve("id_rsa");
        kp.writePrivateKey(key.toString());
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        ByteArrayOutputStream pub = new ByteArrayOutputStream();
        kp.writePublicKey(pub, "bench");
        PublicKey clientKey = AuthorizedKeyEntry.parseAuthorizedKeyEntry(pub.toString(StandardCharsets.US_ASCII).trim())
                .resolvePublicKey(null, PublicKeyEntryResolver.IGNORING);

        SshServer sshd = SshServer.setUpDefaultServer();
        sshd.setHost("127.0.0.1");
        sshd.setPort(0);
        sshd.setKeyPairProvider(new SimpleGeneratorHostKeyProvider(dir.resolve("host.ser")));
        sshd.setPublickeyAuthenticator(new KeySetPublickeyAuthenticator("bench", List.of(clientKey)));
        sshd.setSubsystemFactories(List.of(new SftpSubsystemFactory()));
        sshd.setFileSystemFactory(new VirtualFileSystemFactory(root));
        sshd.start();
        Map<String, Object> r = new LinkedHashMap<>();
        try {
            Path knownHosts = dir.resolve("known_hosts");
            Files.writeString(knownHosts, "[127.0.0.1]:" + sshd.getPort() + " "
                    + PublicKeyEntry.toString(sshd.getKeyPairProvider().loadKeys(null).iterator().next().getPublic()) + "\n");
            SftpSettings s = new SftpSettings("127.0.0.1", sshd.getPort(), "bench", Optional.empty(), Optional.of(key),
                    Optional.empty(), knownHosts, true, "models", 30_000);
            DeployTarget target = DeployTarget.sftp(s);
            String uri = target.endpointUri(DeployTarget.PROD);
            Runtime rt = Runtime.getRuntime();
            System.gc();
            long heapBefore = rt.totalMemory() - rt.freeMemory();
            AtomicLong heapPeak = new AtomicLong(heapBefore);
            Thread sampler = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    heapPeak.accumulateAndGet(rt.totalMemory() - rt.freeMemory(), Math::max);
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            Path sftp = Path.of("/usr/bin/sftp");
            boolean openssh = Files.isExecutable(sftp);
            List<Double> camelSeconds = new ArrayList<>();
            List<Double> opensshSeconds = new ArrayList<>();
            String opensshFailure = openssh ? null : "not installed (apt-get install openssh-client)";
            try (DefaultCamelContext ctx = new DefaultCamelContext()) {
                ctx.start();
                ProducerTemplate t = ctx.createProducerTemplate();
                t.sendBodyAndHeader(uri, "warm", Exchange.FILE_NAME,
                        target.uploadName(DeployTarget.PROD, "warmup.txt"));
                sampler.start();
                // Interleaved, so that both see the same machine (a noisy neighbour hits both alike).
                for (int rep = 0; rep < repeats; rep++) {
                    long t0 = System.nanoTime();
                    for (int f = 0; f < files; f++) {
                        File src = bundle.resolve("part-" + f + ".bin").toFile();
                        t.sendBodyAndHeader(uri, src, Exchange.FILE_NAME,
                                target.uploadName(DeployTarget.PROD, "camel-" + rep + "/part-" + f + ".bin"));
                    }
                    camelSeconds.add((System.nanoTime() - t0) / 1e9);
                    if (openssh && opensshFailure == null) {
                        Path batch = dir.resolve("batch.txt");
                        StringBuilder b = new StringBuilder("-mkdir models/openssh-" + rep + "\n");
                        for (int f = 0; f < files; f++) {
                            b.append("put ").append(bundle.resolve("part-" + f + ".bin")).append(" models/openssh-")
                                    .append(rep).append("/part-").append(f).append(".bin\n");
                        }
                        Files.writeString(batch, b);
                        Process p = new ProcessBuilder(sftp.toString(), "-q", "-b", batch.toString(), "-P",
                                Integer.toString(sshd.getPort()), "-i", key.toString(), "-o",
                                "UserKnownHostsFile=" + knownHosts, "-o", "StrictHostKeyChecking=yes", "-o",
                                "BatchMode=yes", "-o", "PubkeyAcceptedAlgorithms=+ssh-rsa", "bench@127.0.0.1")
                                .redirectErrorStream(true).start();
                        long o0 = System.nanoTime();
                        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                        boolean done = p.waitFor(600, TimeUnit.SECONDS);
                        double os = (System.nanoTime() - o0) / 1e9;
                        if (done && p.exitValue() == 0) {
                            opensshSeconds.add(os);
                        } else {
                            opensshFailure = "failed: " + log.trim();
                        }
                    }
                }
                sampler.interrupt();
                sampler.join();
            }
            double camel = Benchmarks.median(camelSeconds);
            r.put("bytes", totalBytes);
            r.put("repeats", repeats);
            r.put("camelSftpSeconds", camel);
            r.put("camelSftpMBps", totalBytes / 1e6 / camel);
            r.put("camelSftpMBpsAll", camelSeconds.stream().map(x -> Math.round(totalBytes / 1e5 / x) / 10.0).toList());
            r.put("heapBeforeMB", heapBefore / 1e6);
            r.put("heapPeakDuringUploadMB", heapPeak.get() / 1e6);
            r.put("maxHeapMB", rt.maxMemory() / 1e6);
            System.gc();
            r.put("heapAfterUploadsAndGcMB", (rt.totalMemory() - rt.freeMemory()) / 1e6);
            if (opensshFailure == null) {
                double os = Benchmarks.median(opensshSeconds);
                r.put("opensshSeconds", os);
                r.put("opensshMBps", totalBytes / 1e6 / os);
                r.put("opensshMBpsAll", opensshSeconds.stream().map(x -> Math.round(totalBytes / 1e5 / x) / 10.0).toList());
                r.put("ratio", os / camel);
            } else {
                r.put("openssh", opensshFailure);
            }
        } finally {
            sshd.stop(true);
        }
        r.put("goal", ">= 0.5 of OpenSSH sftp's throughput, heap flat");
        return r;
    }
}
