package dev.camelmlops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The run's git commit is read from .git without starting git; checked against git itself. */
class GitCommitTest {
    @TempDir
    Path repo;

    @Test
    void readsHeadThroughLooseAndPackedRefsAndWhenDetached() throws Exception {
        assumeTrue(git("--version") != null, "git is not installed");
        initWithOneCommit();
        String first = git("rev-parse", "HEAD");
        Path dotGit = repo.resolve(".git");

        assertEquals(first, MlopsCli.headFromFiles(dotGit), "loose ref");

        git("pack-refs", "--all");
        assertEquals(false, Files.exists(dotGit.resolve("refs/heads/main")));
        assertEquals(first, MlopsCli.headFromFiles(dotGit), "packed ref");

        Files.writeString(repo.resolve("a.txt"), "two");
        git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-am", "two");
        String second = git("rev-parse", "HEAD");
        assertEquals(second, MlopsCli.headFromFiles(dotGit), "new commit after packing");

        git("checkout", "-q", "--detach", first);
        assertEquals(first, MlopsCli.headFromFiles(dotGit), "detached HEAD");
        assertEquals(first, MlopsCli.gitCommit(repo));
    }

    /** A worktree's .git is a file ("gitdir: ..."): the commit comes from git itself. */
    @Test
    void aWorktreeHasItsCommitToo() throws Exception {
        assumeTrue(git("--version") != null, "git is not installed");
        initWithOneCommit();
        Path tree = repo.resolve("tree");
        git("worktree", "add", "-q", "--detach", tree.toString());
        assertEquals(true, Files.isRegularFile(tree.resolve(".git")), "a worktree's .git is a file");
        assertEquals(git("rev-parse", "HEAD"), MlopsCli.gitCommit(tree));
    }

    @Test
    void noRepositoryNoCommitAndAnUnbornBranchIsNotGuessed() throws Exception {
        assertNull(MlopsCli.gitCommit(repo));
        assumeTrue(git("--version") != null, "git is not installed");
        git("init", "-q", "-b", "main");
        assertNull(MlopsCli.headFromFiles(repo.resolve(".git")));
    }

    /** A repository on branch main with one commit. */
    private void initWithOneCommit() throws IOException, InterruptedException {
        git("init", "-q", "-b", "main");
        Files.writeString(repo.resolve("a.txt"), "one");
        git("add", "a.txt");
        git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "one");
    }

    private String git(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("git", "-C", repo.toString()));
        cmd.addAll(List.of(args));
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            return null;
        }
        String out = new String(p.getInputStream().readAllBytes()).trim();
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + ": " + out);
        }
        return out;
    }
}
