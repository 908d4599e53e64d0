//! Compiles the valgrind client-request shim, only for the `taint` feature (the dudect bench
//! needs no valgrind headers).
fn main() {
    println!("cargo:rerun-if-changed=shim/ct_shim.c");
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "taint")]
    cc::Build::new()
        .file("shim/ct_shim.c")
        .opt_level(2)
        .warnings(true)
        .compile("rolltoken_ct_shim");
}
