// Masking of secrets in text that came from an upstream (error messages and bodies relayed to
// the client): some APIs quote the key they rejected ("bad key sk-ant-…"), and no key or token
// ccmux sent may come back out through it (docs/SECURITY.md).

/** Key-shaped words of the common providers: `sk-…`, `sk-ant-…`, `rk_…`, `gsk_…`, `xai-…`, … */
const KEY_SHAPED = /\b(sk|rk|gsk|csk|xai|pk)[-_][A-Za-z0-9_*-]{6,}/g;

/**
 * `text` with every occurrence of `credential` (the key or token ccmux sent upstream; ignored
 * when shorter than 8 characters, where masking would garble ordinary words) replaced by "***",
 * and anything key-shaped masked after its prefix ("sk-***").
 */
export function redactSecrets(text: string, credential: string | undefined): string {
  let s = text;
  if (credential && credential.length >= 8) s = s.split(credential).join("***");
  return s.replace(KEY_SHAPED, "$1-***");
}
