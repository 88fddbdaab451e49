// With the `napi` feature, napi-rs's macros write this crate's TypeScript declarations while
// it compiles; `napi build` asks for a rebuild through this variable when its declaration
// folder lacks them (napi_build::setup does the same for the addon crate).
fn main() {
    println!("cargo:rerun-if-env-changed=NAPI_TYPE_DEF_TMP_FOLDER");
    println!("cargo:rerun-if-env-changed=NAPI_FORCE_BUILD_TSCONTAINER_IMAGE_HOST");
}
