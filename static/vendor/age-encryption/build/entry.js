// What static/vendor/age-encryption/age.min.js exposes as window.sunbidAge: typage's encrypter and
// decrypter with its identity helpers, and the incremental SHA-256 of @noble/hashes.
export { Encrypter, Decrypter, generateIdentity, generateX25519Identity, identityToRecipient } from "age-encryption";
export { sha256 } from "@noble/hashes/sha2.js";
