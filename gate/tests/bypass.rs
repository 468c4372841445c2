//! Bypass classes of `tcp check`: ways of hiding a dangerous command from a naive
//! classifier (an interpreter's program, a here-string, a git config value, ANSI-C
//! quoting, …). One test per class, so a failure names the class.
//!
//! For each class the dangerous lines must be decided *at least* as strictly as listed
//! (REJECT is CRITICAL; REQUIRE_APPROVAL is HIGH_RISK or UNKNOWN), and the harmless lines
//! of the same shape must keep exactly their decision — closing a bypass must not turn
//! everyday commands into approvals.
//!
//! The command lines below are test data only: they are classified, never executed.

use proptest::prelude::*;
use tcp_gate::classify::{cmdline, CheckReport, Classifier};
use tcp_spec::{Decision, Policy};

use Decision::{Approve as A, Caution as W, Reject as R, RequireApproval as Q};

fn rank(d: Decision) -> u8 {
    match d {
        Decision::Approve => 0,
        Decision::Caution => 1,
        Decision::RequireApproval => 2,
        Decision::Reject => 3,
    }
}

fn check(c: &Classifier, line: &str) -> CheckReport {
    c.check(line, None, Policy::default())
}

/// `dangerous`: decided at least this strictly. `harmless`: decided exactly so.
fn class(dangerous: &[(&str, Decision)], harmless: &[(&str, Decision)]) {
    let c = Classifier::builtin();
    let mut wrong = Vec::new();
    for (line, want) in dangerous {
        let r = check(&c, line);
        if rank(r.decision_value) < rank(*want) {
            wrong.push(format!(
                "dangerous {line:?}: want at least {want:?}, got {} {} ({})",
                r.risk,
                r.decision,
                r.reasons.join(" | ")
            ));
        }
    }
    for (line, want) in harmless {
        let r = check(&c, line);
        if r.decision_value != *want {
            wrong.push(format!(
                "harmless {line:?}: want {want:?}, got {} {} ({})",
                r.risk,
                r.decision,
                r.reasons.join(" | ")
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn awk_programs() {
    class(
        &[
            (r#"awk 'BEGIN{system("rm -rf /")}'"#, R),
            (r#"mawk 'BEGIN{system("rm -rf /")}'"#, R),
            (r#"gawk 'BEGIN { system("rm -rf /") }'"#, R),
            (r#"awk '{print > "/etc/passwd"}' f"#, R),
            (r#"awk '{print | "sh"}' f"#, Q),
            (r#"awk 'BEGIN{system("id")}'"#, Q),
            (r#"gawk 'BEGIN{ "id" | getline x }'"#, Q),
        ],
        &[
            (r"awk '{print $1}' file", A),
            (r#"awk '{print > "out.txt"}' f"#, A),
            (r"awk -F: '{print $1}' /etc/passwd", A),
        ],
    );
}

#[test]
fn perl_programs() {
    class(
        &[
            (r#"perl -e 'system("rm -rf /")'"#, R),
            (r#"perl -e 'exec "rm", "-rf", "/"'"#, R),
            (r"perl -e '`rm -rf /`'", R),
            (r"perl -e 'qx(rm -rf /)'", R),
            (r#"perl -e 'open(F, "|sh")'"#, Q),
            (r#"perl -E 'system "id"'"#, Q),
        ],
        &[(r"perl -ne 'print if /x/' f", W)],
    );
}

#[test]
fn python_programs() {
    class(
        &[
            (r#"python3 -c 'import os; os.system("rm -rf /")'"#, R),
            (
                r#"python3 -c 'import subprocess; subprocess.run(["rm","-rf","/"])'"#,
                R,
            ),
            (r#"python3 -c 'import os; os.execvp("sh", ["sh"])'"#, Q),
            (r#"python3 -c 'import pty; pty.spawn("/bin/sh")'"#, Q),
            (r#"python -c 'import os; os.system("id")'"#, Q),
        ],
        &[(r"python3 -c 'print(1)'", W)],
    );
}

#[test]
fn ruby_programs() {
    class(
        &[
            (r#"ruby -e 'system("rm -rf /")'"#, R),
            (r"ruby -e '%x(rm -rf /)'", R),
            (r"ruby -e '`id`'", Q),
            (r#"ruby -e 'exec "id"'"#, Q),
            (r#"ruby -e 'spawn "id"'"#, Q),
        ],
        &[(r"ruby -e 'puts 1'", W)],
    );
}

#[test]
fn node_programs() {
    class(
        &[
            (
                r#"node -e 'require("child_process").execSync("rm -rf /")'"#,
                R,
            ),
            (r#"node --eval 'require("child_process").exec("id")'"#, Q),
        ],
        &[(r"node -e 'console.log(1)'", W)],
    );
}

#[test]
fn php_programs() {
    class(
        &[
            (r#"php -r 'system("rm -rf /");'"#, R),
            (r#"php -r 'passthru("id");'"#, Q),
            (r#"php -r 'echo shell_exec("id");'"#, Q),
            (r"php -r 'echo `id`;'", Q),
        ],
        &[(r"php -r 'echo 1;'", W)],
    );
}

#[test]
fn here_strings_feed_the_command() {
    class(
        &[
            ("bash <<< 'rm -rf /'", R),
            ("sh <<<'rm -rf /'", R),
            ("bash <<< \"$(rm -rf /)\"", R),
            (r#"python3 <<< 'import os; os.system("rm -rf /")'"#, R),
        ],
        &[
            // Data for a program that does not run it.
            ("cat <<< 'rm -rf /'", A),
            ("grep x <<< 'rm -rf /'", A),
            // A shell running a harmless command is as harmless as the command.
            ("sh <<< 'id'", A),
        ],
    );
}

#[test]
fn here_documents_feed_the_command() {
    class(
        &[
            ("sh <<EOF\nrm -rf /\nEOF", R),
            ("bash <<'EOF'\nrm -rf /\nEOF", R),
            ("bash <<-EOF\n\trm -rf /\n\tEOF", R),
            ("python3 - <<EOF\nimport os\nos.system('rm -rf /')\nEOF", R),
            // An unquoted document is expanded: its substitutions run.
            ("cat <<EOF\n$(rm -rf /)\nEOF", R),
            ("cat <<EOF\n`rm -rf /`\nEOF", R),
        ],
        &[
            ("cat <<EOF\nrm -rf /\nEOF", A),
            // Quoted: not expanded, so the substitution is only text.
            ("cat <<'EOF'\n$(rm -rf /)\nEOF", A),
            ("cat <<EOF > notes.txt\nhello\nEOF", A),
        ],
    );
}

#[test]
fn git_config_commands() {
    class(
        &[
            ("git -c core.pager='rm -rf /' log", R),
            ("git -c core.fsmonitor='rm -rf ~' status", R),
            ("git -c alias.x='!rm -rf /' x", R),
            ("git -c core.sshCommand='rm -rf /' fetch", R),
            ("git -c diff.external=evil diff", Q),
        ],
        &[
            ("git -c color.ui=always log", A),
            ("git -c user.name=x commit -m wip", A),
            // The configured command is classified: a harmless one stays harmless.
            ("git -c core.sshCommand='sh -c id' fetch", A),
        ],
    );
}

#[test]
fn tar_commands() {
    class(
        &[
            ("tar --to-command='rm -rf /' -xf a.tar", R),
            (
                "tar -cf a.tar --checkpoint=1 --checkpoint-action=exec='rm -rf /' dir",
                R,
            ),
            ("tar --use-compress-program='sh -c id' -cf a.tar dir", Q),
        ],
        &[("tar -czf a.tgz dir", A), ("tar -tzf a.tgz", A)],
    );
}

#[test]
fn rsync_remote_shell() {
    class(
        &[
            ("rsync --rsh='rm -rf /' a host:b", R),
            ("rsync -e 'rm -rf /' a host:b", R),
        ],
        &[
            ("rsync -a src/ dst/", W),
            // The remote shell is classified: a harmless one stays at rsync's level.
            ("rsync -e 'sh -c id' a host:b", W),
        ],
    );
}

#[test]
fn ssh_remote_command() {
    class(
        &[
            ("ssh host 'rm -rf /'", R),
            ("ssh host rm -rf /", R),
            ("ssh -p 22 user@host 'rm -rf /'", R),
        ],
        &[("ssh host", Q), ("ssh host uptime", Q)],
    );
}

#[test]
fn watch_runs_its_command() {
    class(
        &[("watch -n 1 'rm -rf /'", R), ("watch rm -rf /", R)],
        &[("watch -n 1 ls", A)],
    );
}

#[test]
fn busybox_applets() {
    class(
        &[("busybox rm -rf /", R), ("busybox sh -c 'rm -rf /'", R)],
        &[],
    );
}

#[test]
fn moving_system_directories() {
    class(
        &[
            ("mv /etc /tmp/x", R),
            ("mv /usr/bin /tmp/x", R),
            ("mv /usr /tmp/x", R),
            ("mv /etc/ssl /tmp/x", R),
            ("rename 's/a/b/' /etc", R),
        ],
        &[("mv a b", W)],
    );
}

#[test]
fn cloud_account_and_project_deletion() {
    class(
        &[
            ("gcloud projects delete my-proj", R),
            ("aws organizations close-account --account-id 1", R),
            ("aws s3 rb s3://b --force", R),
            ("az group delete -n rg", R),
            ("gh repo delete owner/repo --yes", R),
            ("kubectl delete namespace prod", R),
            ("terraform destroy -auto-approve", R),
        ],
        &[("gh repo view", W)],
    );
}

#[test]
fn wrappers_still_unwrap() {
    class(
        &[
            (r"find . -exec rm -rf / \;", R),
            (r"find . -execdir sh -c 'rm -rf /' \;", R),
            (r"find . -ok rm -rf / \;", R),
            ("xargs rm -rf /", R),
            ("xargs sh -c 'rm -rf /'", R),
            ("env rm -rf /", R),
            ("env -i sh -c 'rm -rf /'", R),
            ("timeout 5 rm -rf /", R),
            ("nice rm -rf /", R),
            ("nohup rm -rf /", R),
            ("sudo rm -rf /", R),
            ("doas rm -rf /", R),
        ],
        &[("find . -name '*.rs'", A)],
    );
}

#[test]
fn ansi_c_quoting_is_decoded() {
    class(
        &[
            (r"$'\x72\x6d' -rf /", R),
            (r"$'\162\155' -rf /", R),
            (r"$'\u0072m' -rf /", R),
            (r"$'\U00000072'm -rf /", R),
            (r"r$'m' -rf /", R),
            (r"rm $'-rf' $'\x2f'", R),
            (r"sh -c $'rm\x20-rf\x20/'", R),
            (r#"$"rm" -rf /"#, R),
        ],
        &[
            (r"echo $'a\tb'", A),
            (r"$'\x6c\x73' -l", A),
            (r#"echo $"hello""#, A),
        ],
    );
}

// --- shapes found by trying to talk around the gate once the classes above held ---

#[test]
fn more_interpreter_shapes() {
    class(
        &[
            (r#"env python3 -c 'import os; os.system("rm -rf /")'"#, R),
            (
                r#"/usr/bin/python3 -c 'import os; os.system("rm -rf /")'"#,
                R,
            ),
            (r#"python3 -c "__import__('os').system('rm -rf /')""#, R),
            (r#"python3 -Ic 'import os; os.system("rm -rf /")'"#, R),
            (r#"python3 -u -c 'import os; os.system("rm -rf /")'"#, R),
            (r#"python3 -c 'import os; os.system("r"+"m -rf /")'"#, Q),
            (r#"perl -we 'system("rm -rf /")'"#, R),
            (r#"perl -Mstrict -e 'system "rm -rf /"'"#, R),
            (
                r#"node -p 'require("child_process").execSync("rm -rf /")'"#,
                R,
            ),
            (r#"awk -e 'BEGIN{system("rm -rf /")}'"#, R),
            (r#"lua -e 'os.execute("rm -rf /")'"#, R),
            ("busybox ash -c 'rm -rf /'", R),
            ("env busybox sh -c 'rm -rf /'", R),
            ("eval 'rm -rf /'", R),
            (r"\rm -rf /", R),
            (r#"'r'"m" -rf /"#, R),
            ("/usr/bin/env rm -rf /", R),
        ],
        &[
            (r"env python3 -c 'print(1)'", W),
            (r"python3 -Ic 'print(1)'", W),
            ("busybox sh -c 'ls'", A),
            ("eval 'ls'", A),
        ],
    );
}

#[test]
fn more_here_string_shapes() {
    class(
        &[
            ("bash <<< \"rm -rf /\"", R),
            ("bash -s <<< 'rm -rf /'", R),
            ("sh - <<< 'rm -rf /'", R),
            ("bash 0<<< 'rm -rf /'", R),
            ("sudo sh <<< 'rm -rf /'", R),
            ("env bash <<EOF\nrm -rf /\nEOF", R),
            (r#"perl <<< 'system("rm -rf /")'"#, R),
            ("cat <<< 'rm -rf /' | sh", R),
        ],
        &[("bash -s <<< 'echo hi'", A), ("echo ls | bash", A)],
    );
}

#[test]
fn git_alias_to_a_bare_shell() {
    class(
        &[
            // The shell reads its commands from a standard input the gate never sees.
            ("git -c alias.x='!sh' x", Q),
            ("git -c alias.x='!bash -s' x", Q),
            ("git -c credential.helper='!sh' fetch", Q),
            ("git -c alias.x='!rm -rf /' x", R),
            ("git -C /tmp -c core.pager='rm -rf /' log", R),
            ("git -c core.editor='rm -rf /' commit", R),
            ("GIT_SSH_COMMAND='rm -rf /' git fetch", R),
        ],
        &[
            // git's level for a subcommand it does not know (the alias): as without -c.
            ("git -c alias.x='!ls' x", W),
            ("git -c alias.st=status st", W),
            ("git -C /tmp log", A),
        ],
    );
}

#[test]
fn ssh_options_after_the_host() {
    class(
        &[
            // OpenSSH parses options again right after the host.
            ("ssh host -- rm -rf /", R),
            ("ssh host -t -- rm -rf /", R),
            ("ssh host -p 22 rm -rf /", R),
            ("ssh host -o ProxyCommand='rm -rf /'", R),
            ("ssh -oProxyCommand='rm -rf /' host", R),
            ("ssh -t host sudo rm -rf /", R),
        ],
        &[
            ("ssh host ls", Q),
            // After the command, words are the command's own (`ls -l`, not ssh's -l).
            ("ssh host ls -l /tmp", Q),
        ],
    );
}

#[test]
fn find_runs_its_command_on_the_starting_point() {
    class(
        &[
            // No test before -exec: the first file found is `/` itself.
            ("find / -exec rm -rf {} +", R),
            (r"find / -xdev -exec rm -rf {} \;", R),
            ("find ~ -execdir rm -rf {} +", R),
            ("find /etc -maxdepth 0 -exec rm -rf {} +", R),
            // -mindepth 1: what lies directly under /.
            ("find / -mindepth 1 -maxdepth 1 -exec rm -rf {} +", R),
            ("find / -exec mv {} /tmp/x +", R),
            (r"find / -name x -exec rm -rf {} \;", Q),
        ],
        &[
            (r"find . -exec cat {} \;", A),
            ("find . -exec grep -l x {} +", A),
            (r"find / -name passwd", A),
            (r"find . -name '*.o' -exec ls -l {} \;", A),
        ],
    );
}

#[test]
fn system_directories_however_spelled() {
    class(
        &[
            ("mv /./etc /tmp/x", R),
            ("mv //etc /tmp/x", R),
            ("mv /etc/ /tmp/x", R),
            ("mv /usr/../etc /x", R),
            ("mv /etc{,.bak}", R),
            ("mv /{etc,tmp}", R),
            ("mv -t /tmp /etc", R),
            ("mv -- /etc /tmp/x", R),
            ("sudo mv /usr /x", R),
            // A glob the shell turns into /etc.
            ("mv /e[t]c /tmp/x", R),
            ("mv /et? /tmp/x", R),
            ("rm -rf /./", R),
            ("rm -rf /usr/..", R),
        ],
        &[
            ("mv a.txt b.txt", W),
            ("mv ./etc ./etc2", W),
            ("mv etc /tmp/x", W),
            ("mv notes{,.bak}", W),
            ("mv /tmp/a /tmp/b", W),
        ],
    );
}

#[test]
fn more_cloud_deletion_shapes() {
    class(
        &[
            ("gcloud projects delete p --quiet", R),
            ("gcloud --project p projects delete p", R),
            ("gcloud beta projects delete p", R),
            (
                "aws --profile x organizations close-account --account-id 1",
                R,
            ),
            ("aws organizations delete-organization", R),
            ("aws s3 rm s3://b --recursive", R),
            ("gsutil rm -r gs://b", R),
            ("kubectl delete ns prod", R),
            ("terraform apply -destroy -auto-approve", R),
        ],
        &[
            ("gcloud projects list", A),
            ("aws organizations list-accounts", A),
            ("kubectl get ns", A),
        ],
    );
}

#[test]
fn more_ansi_c_shapes() {
    class(
        &[
            (r"$'\x72'$'\x6d' -rf /", R),
            (r"$'\162m' -rf $'\057'", R),
            (r"bash -c $'\x72\x6d -rf /'", R),
            (r"eval $'\x72\x6d -rf /'", R),
            (r"sudo $'\x72\x6d' -rf /", R),
            (r"env $'\x72\x6d' -rf /", R),
            (r"$'\x2fbin\x2frm' -rf /", R),
            (r"$'\x72\x6d' -rf ~", R),
            (r"mv $'\x2fetc' /tmp/x", R),
        ],
        &[(r"printf $'%s\n' a", A), (r"$'\x65cho' hi", A)],
    );
}

#[test]
fn commands_scheduled_or_run_by_terminal_tools() {
    class(
        &[
            ("at now <<< 'rm -rf /'", R),
            ("echo 'rm -rf /' | at now", R),
            ("batch <<< 'rm -rf /'", R),
            ("at now + 1 minute <<EOF\nrm -rf /\nEOF", R),
            ("echo '* * * * * rm -rf /' | crontab -", Q),
            ("crontab jobs.txt", Q),
            ("tmux new -d 'rm -rf /'", R),
            ("tmux new-session -d -s x 'rm -rf /'", R),
            ("tmux send-keys -t x 'rm -rf /' Enter", R),
            ("tmux run-shell 'rm -rf /'", R),
            ("screen -dm sh -c 'rm -rf /'", R),
            ("screen -S x -dm rm -rf /", R),
        ],
        &[
            ("at now <<< 'ls'", A),
            ("crontab -l", A),
            // tmux's own level (it is a terminal multiplexer) with a harmless command.
            ("tmux new -d 'ls'", W),
            ("screen -dm ls", A),
        ],
    );
}

#[test]
fn editors_and_pagers_that_run_shell_commands() {
    class(
        &[
            ("vim -c '!rm -rf /' -c q", R),
            ("vi -es -c '!rm -rf /'", R),
            ("vim +'!rm -rf /' f", R),
            ("less +'!rm -rf /' f", R),
            ("man -P 'rm -rf /' ls", R),
            ("man --pager='sh -c \"rm -rf /\"' ls", R),
            // The pager reads the manual page: a shell there runs it.
            ("man -P sh ls", Q),
        ],
        &[
            ("man -P cat ls", A),
            ("less +G f", A),
            ("less +/pattern f", A),
        ],
    );
}

#[test]
fn editor_command_programs() {
    class(
        &[
            (r#"vim -c 'call system("rm -rf /")' -c q"#, R),
            (r#"vim f -c 'call system("rm -rf /")'"#, R),
            (r#"nvim --headless -c 'call jobstart("rm -rf /")' -c q"#, R),
            ("vim -c 'silent !rm -rf /' -c q", R),
            ("vim -c 'silent! !rm -rf /'", R),
            (r#"vim -c 'py3 import os; os.system("ls")' -c q"#, Q),
            (r#"nvim --headless -c 'lua os.execute("ls")' -c q"#, Q),
            ("vim -c 'terminal ls'", Q),
            ("vim -c 'r !ls' f", Q),
            (r#"vim '+call system("ls")' f"#, Q),
            (r#"ex -c 'execute "!" . "ls"' f"#, Q),
        ],
        &[
            ("vim -c 'set number' f", A),
            ("vim -c ':%s/a/b/g' -c wq f", A),
            ("vim -c 'normal G' f", A),
            ("vim +10 f", A),
            ("vim f", A),
        ],
    );
}

#[test]
fn expect_and_tcl_scripts() {
    class(
        &[
            ("expect -c 'spawn rm -rf /; expect eof'", Q),
            ("expect -c 'exec rm -rf /'", Q),
            (r#"expect -c 'spawn sh -c "rm -rf /"'"#, R),
            ("echo 'exec rm -rf /' | tclsh", Q),
            ("tclsh <<< 'exec rm -rf /'", Q),
            (r#"tclsh <<< 'set f [open "|rm -rf /"]'"#, Q),
        ],
        &[("echo 'puts hello' | tclsh", W), ("expect -c 'puts hi'", W)],
    );
}

#[test]
fn package_runners_run_known_commands() {
    class(
        &[
            ("npx rimraf /", R),
            ("npx -y rimraf /", R),
            ("npx --yes rimraf ~", R),
            ("rimraf /", R),
            ("npm exec rimraf /", R),
            ("npm exec -- rimraf /", R),
            ("npm x -y rimraf /", R),
            ("pnpm dlx rimraf /", R),
            ("yarn dlx rimraf /", R),
            ("bunx rimraf /", R),
            ("bun x rimraf /", R),
            ("npx -c 'rm -rf /'", R),
            ("npx --call='rm -rf /'", R),
            ("npx -p cowsay -c 'rm -rf /'", R),
            ("uv run rm -rf /", R),
            ("uv run --with requests rm -rf /", R),
            ("uvx rimraf /", R),
            ("poetry run rm -rf /", R),
            ("conda run -n base rm -rf /", R),
            ("bundle exec rm -rf /", R),
            ("pipx run rimraf /", R),
        ],
        &[
            ("npx prettier --check .", W),
            ("npx tsc --noEmit", W),
            ("npm exec eslint .", W),
            ("uv run pytest", W),
            ("poetry run pytest -q", W),
            ("npm run build", W),
            ("npm test", W),
        ],
    );
}

// --- the lexer and `check` never panic; `$'…'` of plain text is that text ---

/// Lines built from the characters the lexer treats specially.
fn shellish() -> impl Strategy<Value = String> {
    proptest::string::string_regex(r#"([a-z/~.\-=0-9]|[ \t\n]|[$'"\\`(){}<>|&;#!*?\[\]]|<<|<<<|<<-|\$'|\$"|\$\(|EOF|é|\x00){0,60}"#)
        .expect("valid regex")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let line = String::from_utf8_lossy(&bytes);
        let _ = cmdline::parse(&line);
        let _ = cmdline::decode_ansi_c(&line);
        let c = Classifier::builtin();
        let r = c.check(&line, None, Policy::default());
        prop_assert!(!r.reasons.is_empty());
    }

    #[test]
    fn never_panics_on_shell_like_text(line in shellish()) {
        let _ = cmdline::parse(&line);
        let _ = cmdline::decode_ansi_c(&line);
        let c = Classifier::builtin();
        let r = c.check(&line, None, Policy::default());
        prop_assert_eq!(r.score, r.risk_level.score());
        // Wrapped in a shell it is still checked, and still no panic.
        let _ = c.check(&format!("sh -c '{line}'"), None, Policy::default());
        let _ = c.check(&format!("bash <<EOF\n{line}\nEOF"), None, Policy::default());
    }

    #[test]
    fn ansi_c_of_plain_printable_ascii_is_itself(s in "[ -&(-\\[\\]-~]{1,40}") {
        // Printable ASCII without backslash or single quote.
        prop_assert_eq!(cmdline::decode_ansi_c(&s), s.clone());
        let p = cmdline::parse(&format!("echo $'{s}'")).unwrap();
        prop_assert_eq!(p.commands.len(), 1);
        prop_assert_eq!(&p.commands[0].words, &vec!["echo".to_string(), s]);
    }
}
