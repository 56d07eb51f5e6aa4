//! Man pages and shell completions for the `idverifd` command, made from its clap
//! definition so they cannot drift from it. In: the built `clap::Command`. Out: roff
//! pages and bash/zsh/fish completion scripts in a directory (`scripts/package`
//! runs the hidden `idverifd generate-docs DIR` after the release build). The
//! daemon never runs this.

use std::io;
use std::path::{Path, PathBuf};

use clap_complete::Shell;

/// What an operator looks up in `man idverifd` beyond the options.
const MAIN_PAGE_EXTRA: &str = r#".SH "EXIT STATUS"
0 success, 1 the input was processed and failed a check (invalid document, not the same person,
bad signature), 2 usage or configuration error, 3 internal error.
.SH ENVIRONMENT
.TP
.B IDVERIFD_LOG
Log filter, e.g. \fBinfo\fR or \fBinfo,idverifd=debug\fR (default \fBinfo\fR).
.TP
.B IDVERIFD_LOG_FORMAT
\fBtext\fR (default) or \fBjson\fR: one JSON object per line, for journald, Vector or Loki.
.SH FILES
.TP
.I /etc/idverifd/idverifd.toml
The configuration; checked by \fBidverifd validate\fR before every start.
.TP
.I /var/lib/idverifd
State: signing keys, TLS material, the database and evidence (mode 0700, user idverifd).
.TP
.I /usr/share/idverifd/models
Model files and their manifest with SHA-256 digests.
.TP
.I /usr/share/idverifd/cameras
Settings for the approved camera models.
.SH "SEE ALSO"
\fBsystemctl\fR(1), \fBjournalctl\fR(1), /usr/share/doc/idverifd/README.md
"#;

/// Writes `DIR/man/idverifd.1` and one `idverifd-SUB[-SUB].1` per visible subcommand,
/// and `DIR/completions/` for bash, zsh and fish. Returns the files written.
pub fn write_all(command: clap::Command, dir: &Path) -> io::Result<Vec<PathBuf>> {
    // `idverifd help SUB` prints SUB's --help; a page for it would repeat SUB's page.
    let mut command = command.disable_help_subcommand(true);
    command.build();
    let man_dir = dir.join("man");
    std::fs::create_dir_all(&man_dir)?;
    let mut written = Vec::new();
    write_man_pages(&command, &man_dir, true, &mut written)?;

    let completion_dir = dir.join("completions");
    std::fs::create_dir_all(&completion_dir)?;
    let name = command.get_name().to_string();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        written.push(clap_complete::generate_to(shell, &mut command, &name, &completion_dir)?);
    }
    Ok(written)
}

fn write_man_pages(command: &clap::Command, dir: &Path, top: bool, written: &mut Vec<PathBuf>) -> io::Result<()> {
    // After build(), a subcommand's display name is its path: idverifd-face-compare.
    let page = command.get_display_name().unwrap_or_else(|| command.get_name()).to_string();
    let mut roff = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut roff)?;
    if top {
        roff.extend_from_slice(MAIN_PAGE_EXTRA.as_bytes());
    }
    let path = dir.join(format!("{page}.1"));
    std::fs::write(&path, roff)?;
    written.push(path);
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_man_pages(sub, dir, false, written)?;
    }
    Ok(())
}
