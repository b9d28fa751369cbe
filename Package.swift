// swift-tools-version: 6.2
//
// Kiln: a machine-image builder that speaks Packer's JSON template language.
//
// The layers, bottom up (see README "Architecture"):
//   C libraries      CCurl, CLibSSH2, COpenSSL (system libraries: pkg-config + headers only)
//                    CCurlShims (typed wrappers for curl's variadic setopt/getinfo)
//   KilnCore         template loader with positions, variables, interpolation, diagnostics,
//                    plugin configuration decoding and the plugin registry; ChildProcess,
//                    the one local process runner (over swift-subprocess)
//   KilnCrypto       the one OpenSSL owner: digests, HMAC, keys, one error type
//   KilnAWS          SigV4, the libcurl transport, the EC2/STS client
//   KilnSSH          libssh2 owners and the SSH communicator
//   KilnBuilders / KilnProvisioners / KilnPostProcessors   the plugins, by Packer type name
//   KilnBuild        running builds: the session, provisioner and post-processor orchestration,
//                    signals, debug pauses, the run's ledger of live resources
//   KilnCLI          argument-parser commands; `kiln` is one file over it
import PackageDescription

// Kiln's own targets build with every warning an error (dependencies are not ours to fix,
// and do not get these settings).
let strictSettings: [SwiftSetting] = [
  .enableUpcomingFeature("MemberImportVisibility"),
  .enableUpcomingFeature("InternalImportsByDefault"),
  .treatAllWarnings(as: .error),
]

// `fuzz/run.sh` builds the fuzz target with KILN_FUZZ=1 and `--sanitize=fuzzer`: libFuzzer
// then supplies `main`, so the target's own replay `main` is left out.
let fuzzing = Context.environment["KILN_FUZZ"] == "1"
let fuzzSettings: [SwiftSetting] =
  strictSettings + [.unsafeFlags(["-parse-as-library"])] + (fuzzing ? [.define("KILN_FUZZ")] : [])

let package = Package(
  name: "kiln",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "kiln", targets: ["kiln"]),
    .executable(name: "kiln-fuzz", targets: ["kiln-fuzz"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    // The one process runner (`ChildProcess`) is built on swift-subprocess; swift-system is
    // its dependency already, named here for `FilePath` (executables, working directories).
    .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
    .package(url: "https://github.com/apple/swift-system", from: "1.5.0"),
    // `yamldecode` in HCL templates (KilnHCL): a YAML 1.1 parser with positions and tags.
    .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
  ],
  targets: [
    // C libraries
    .systemLibrary(
      name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
    .systemLibrary(
      name: "CLibSSH2", pkgConfig: "libssh2", providers: [.apt(["libssh2-1-dev"])]),
    .systemLibrary(
      name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
    .target(name: "CCurlShims", dependencies: ["CCurl"]),

    // Libraries
    .target(
      name: "KilnCore",
      dependencies: [
        "KilnHCL",
        .product(name: "Subprocess", package: "swift-subprocess"),
        .product(name: "SystemPackage", package: "swift-system"),
      ],
      swiftSettings: strictSettings),
    // HCL2's language (native and JSON syntax, types, functions); of Kiln, only KilnCrypto
    // (the digests, bcrypt's salt and uuidv4's randomness of Packer's functions). KilnCore
    // reads HCL templates with it (`Template/HCL/`).
    .target(
      name: "KilnHCL", dependencies: ["KilnCrypto", .product(name: "Yams", package: "Yams")],
      swiftSettings: strictSettings),
    // `kiln hcl2_upgrade`: a JSON template (KilnCore) written as HCL2 (KilnHCL's layout).
    .target(name: "KilnUpgrade", dependencies: ["KilnCore", "KilnHCL"], swiftSettings: strictSettings),
    // The only target that imports COpenSSL.
    .target(name: "KilnCrypto", dependencies: ["COpenSSL"], swiftSettings: strictSettings),
    .target(
      name: "KilnAWS",
      dependencies: ["KilnCore", "KilnCrypto", "CCurl", "CCurlShims"],
      swiftSettings: strictSettings),
    .target(
      name: "KilnSSH",
      dependencies: ["KilnCore", "KilnCrypto", "CLibSSH2"],
      swiftSettings: strictSettings),
    .target(name: "KilnBuilders", dependencies: ["KilnCore", "KilnAWS", "KilnSSH"], swiftSettings: strictSettings),
    .target(name: "KilnProvisioners", dependencies: ["KilnCore"], swiftSettings: strictSettings),
    .target(
      name: "KilnPostProcessors", dependencies: ["KilnCore", "KilnCrypto", "KilnProvisioners"],
      swiftSettings: strictSettings),
    .target(name: "KilnBuild", dependencies: ["KilnCore", "KilnCrypto"], swiftSettings: strictSettings),
    .target(
      name: "KilnCLI",
      dependencies: [
        "KilnCore", "KilnBuild", "KilnAWS", "KilnSSH", "KilnBuilders", "KilnProvisioners",
        "KilnPostProcessors",
        "KilnCrypto", "KilnHCL", "KilnUpgrade",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: strictSettings),
    .executableTarget(name: "kiln", dependencies: ["KilnCLI"], swiftSettings: strictSettings),

    // Fuzzing: one input through every stage (a library, so tests replay crashers through it)
    .target(
      name: "KilnFuzzing", dependencies: ["KilnCore", "KilnCLI", "KilnHCL", "KilnUpgrade"],
      swiftSettings: strictSettings),
    .executableTarget(name: "kiln-fuzz", dependencies: ["KilnFuzzing"], swiftSettings: fuzzSettings),

    // Tests
    .target(name: "_KilnTestSupport", dependencies: ["KilnCore", "KilnAWS"], swiftSettings: strictSettings),
    .testTarget(name: "KilnCoreTests", dependencies: ["KilnCore", "KilnFuzzing", "_KilnTestSupport"], swiftSettings: strictSettings),
    .testTarget(
      name: "KilnAWSTests", dependencies: ["KilnAWS", "KilnCore", "_KilnTestSupport"], swiftSettings: strictSettings),
    .testTarget(
      name: "KilnCryptoTests", dependencies: ["KilnCrypto"], swiftSettings: strictSettings),
    .testTarget(
      name: "KilnBuildersTests", dependencies: ["KilnBuilders", "KilnAWS", "KilnCore", "_KilnTestSupport"],
      swiftSettings: strictSettings),
    .testTarget(
      name: "KilnHCLTests", dependencies: ["KilnHCL", "KilnUpgrade", "KilnCore", "_KilnTestSupport"], swiftSettings: strictSettings),
    .testTarget(
      name: "KilnSSHTests", dependencies: ["KilnSSH", "KilnCore", "_KilnTestSupport"],
      swiftSettings: strictSettings),
    .testTarget(
      name: "KilnCLITests",
      dependencies: ["KilnCLI", "KilnCore", "KilnAWS", "KilnSSH", "KilnBuilders", "KilnPostProcessors", "_KilnTestSupport"],
      swiftSettings: strictSettings),
    .testTarget(
      name: "KilnBuildTests",
      dependencies: ["KilnBuild", "KilnCore", "KilnBuilders", "KilnProvisioners", "KilnPostProcessors", "_KilnTestSupport"],
      swiftSettings: strictSettings),
  ],
  swiftLanguageModes: [.v6]
)
