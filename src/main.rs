use std::process::ExitCode;

fn main() -> ExitCode {
    alur::cli::main()
}
