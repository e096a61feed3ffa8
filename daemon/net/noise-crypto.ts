/**
 * Noise's cipher (DESIGN section 6: connections are noise over TCP), given to `noise({ crypto })`
 * in daemon/net/peer.ts: @chainsafe/libp2p-noise's own default, except that a frame is sealed
 * from one contiguous plaintext, so its ciphertext is one buffer. The default seals a frame of
 * 1,200 bytes or more (every gossip message: a yamux header, a length prefix and the envelope)
 * piece by piece into a list of buffers, one per plaintext piece plus the tag, and @libp2p/tcp
 * writes each buffer of a list with its own `socket.write`: a system call and, with noDelay, a
 * TCP segment each. Copying ~2 KiB into one buffer costs far less than three system calls.
 */
import type { ICryptoInterface } from '@chainsafe/libp2p-noise';
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';

export const contiguousNoiseCrypto: ICryptoInterface = {
  ...defaultCrypto,
  chaCha20Poly1305Encrypt: (plaintext, nonce, ad, key) => defaultCrypto.chaCha20Poly1305Encrypt(plaintext.subarray(), nonce, ad, key),
};
