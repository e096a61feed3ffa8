/**
 * `store check`: a read-only walk of every store entry (store/keys.ts) that proves the indexes
 * agree with the envelopes: each tally line has its key index entry saying the same and points
 * at a stored envelope whose statement and signatures say what the line says; each key entry
 * has its tally line; each envelope is stored under its sha256 and counted by some entry; each
 * OpenPGP vote entry reads back. Needs no trust policy: it checks what is stored against itself,
 * not who signed it. Memory stays flat whatever the store's size: each sublevel is walked in
 * batches of a thousand, the other side of each check read by point reads for that batch.
 */
import { envelopeHash, parseEnvelope, signatureKeyid } from '../protocol/dsse.ts';
import { fromBase64 } from '../protocol/encoding.ts';
import { engineDigestOf, parseStatement } from '../protocol/statement.ts';
import { identityKey, type Vote } from '../protocol/attestation.ts';
import type { StoreProblem } from './errors.ts';
import { indexValue, parseIndexEntry, parseOpenpgpEntry, parseTally, SEP } from './keys.ts';
import type { AttestationStore } from './store.ts';

export interface StoreCheck {
  envelopes: number;
  tallies: number;
  /** Vote lines over all tallies. */
  votes: number;
  keyEntries: number;
  openpgpVotes: number;
  problems: StoreProblem[];
}

/** What an envelope's own bytes say: the vote fields every entry pointing at it must match. */
interface EnvelopeFacts {
  identity: string;
  digest: string;
  engineDigest: string | undefined;
  keyids: string[];
}

const unique = (values: Iterable<string>) => [...new Set(values)];

/** Walks the whole store; `problems` is empty when every entry is consistent. */
export async function checkStore(store: AttestationStore): Promise<StoreCheck> {
  const result: StoreCheck = { envelopes: 0, tallies: 0, votes: 0, keyEntries: 0, openpgpVotes: 0, problems: [] };
  const problem = (sublevel: string, key: string, text: string) => result.problems.push({ sublevel, key, problem: text });
  /** Stored envelopes' facts by hash (undefined: not stored; a string: unreadable, reported by the envelope walk). */
  const factsOf = async (hashes: string[]) => {
    const bytes = await store.getMany(hashes);
    return new Map(hashes.map((hash, i) => [hash, bytes[i] === undefined ? undefined : envelopeFacts(hash, bytes[i]!)]));
  };

  // Tally lines: the key entry of each, and the envelope it points at.
  for await (const batch of store.entries('tally')) {
    const votes: Vote[] = [];
    for (const [key, value] of batch as [string, string][]) {
      result.tallies += 1;
      const lines: string[] = [];
      parseTally(key, value, votes, lines);
      lines.forEach((line) => problem('tally', key, line));
    }
    result.votes += votes.length;
    const keys = votes.map((v) => v.keyid + SEP + v.envelope);
    const [entries, facts] = await Promise.all([store.valuesAt('key', keys), factsOf(unique(votes.map((v) => v.envelope)))]);
    votes.forEach((vote, i) => {
      const key = keys[i]!;
      if (entries[i] === undefined) problem('tally', key, 'vote line has no key index entry');
      else if (entries[i] !== indexValue(vote)) problem('key', key, `key entry says ${JSON.stringify(entries[i])}, its tally line says ${JSON.stringify(indexValue(vote))}`);
      const envelope = facts.get(vote.envelope);
      if (envelope === undefined) problem('tally', key, `points at envelope ${vote.envelope}, which is not stored`);
      else if (typeof envelope !== 'string') {
        if (!envelope.keyids.includes(vote.keyid)) problem('tally', key, 'vote of a key that did not sign the envelope');
        if (identityKey(vote) !== envelope.identity) problem('tally', key, `vote for ${identityKey(vote)}, the envelope's statement is for ${envelope.identity}`);
        if (vote.digest !== envelope.digest || vote.engineDigest !== envelope.engineDigest) problem('tally', key, `vote for digest ${vote.digest}${vote.engineDigest ? ` (engine ${vote.engineDigest})` : ''}, the envelope's statement says ${envelope.digest}${envelope.engineDigest ? ` (engine ${envelope.engineDigest})` : ''}`);
      }
    });
  }

  // Key entries: each has its tally line (a line that says otherwise was reported above).
  for await (const batch of store.entries('key')) {
    const entries: { key: string; vote: Vote }[] = [];
    for (const [key, value] of batch as [string, string][]) {
      result.keyEntries += 1;
      const [keyid = '', envelope = ''] = key.split(SEP);
      const vote = parseIndexEntry(keyid, envelope, value);
      if (typeof vote === 'string') problem('key', key, vote);
      else entries.push({ key, vote });
    }
    const identities = unique(entries.map((e) => identityKey(e.vote)));
    const tallies = await store.valuesAt('tally', identities);
    const lines = new Set<string>();
    identities.forEach((identity, i) => {
      const votes: Vote[] = [];
      if (tallies[i] !== undefined) parseTally(identity, tallies[i] as string, votes, []);
      for (const vote of votes) lines.add(vote.keyid + SEP + vote.envelope);
    });
    const orphans = entries.filter((e) => !lines.has(e.key));
    const facts = await factsOf(unique(orphans.map((e) => e.vote.envelope)));
    for (const { key, vote } of orphans) {
      problem('key', key, `key entry has no vote line in the tally of ${identityKey(vote)}`);
      if (facts.get(vote.envelope) === undefined) problem('key', key, `points at envelope ${vote.envelope}, which is not stored`);
    }
  }

  // Envelopes: stored under their hash, readable, and counted by a key entry or a tally line.
  for await (const batch of store.entries('env')) {
    const readable: { hash: string; facts: EnvelopeFacts }[] = [];
    for (const [hash, bytes] of batch as [string, Uint8Array][]) {
      result.envelopes += 1;
      const facts = envelopeFacts(hash, bytes);
      if (typeof facts === 'string') problem('env', hash, facts);
      else readable.push({ hash, facts });
    }
    const keys = readable.flatMap(({ hash, facts }) => facts.keyids.map((keyid) => keyid + SEP + hash));
    const entries = await store.valuesAt('key', keys);
    const counted = new Set(keys.filter((_, i) => entries[i] !== undefined).map((key) => key.slice(key.indexOf(SEP) + 1)));
    const uncounted = readable.filter((r) => !counted.has(r.hash));
    const tallies = await store.valuesAt('tally', uncounted.map((r) => r.facts.identity));
    uncounted.forEach(({ hash }, i) => {
      if (!(tallies[i] as string | undefined)?.includes(hash)) problem('env', hash, 'stored envelope is counted in no tally and no key entry');
    });
  }

  for await (const batch of store.entries('pgp')) {
    for (const [key, value] of batch as [string, string][]) {
      result.openpgpVotes += 1;
      const vote = parseOpenpgpEntry(key, value);
      if (typeof vote === 'string') problem('pgp', key, vote);
    }
  }
  return result;
}

/** The identity, digests and signing keyids an envelope's bytes hold, or what is wrong with them. */
function envelopeFacts(hash: string, bytes: Uint8Array): EnvelopeFacts | string {
  const actual = envelopeHash(bytes);
  if (actual !== hash) return `stored bytes hash to ${actual}, not to their key`;
  try {
    const envelope = parseEnvelope(bytes, `envelope ${hash}`);
    const statement = parseStatement(fromBase64(envelope.payload, 'payload'), `envelope ${hash}`);
    const params = statement.predicate.buildDefinition.externalParameters;
    const subject = statement.subject[0]!;
    return {
      identity: identityKey({ image: subject.name, platform: params.platform, inputDigest: params.inputDigest }),
      digest: subject.digest.sha256,
      engineDigest: engineDigestOf(statement),
      keyids: unique(envelope.signatures.map((s, i) => signatureKeyid(s, i, `envelope ${hash}`))),
    };
  } catch (error) {
    return (error as Error).message;
  }
}
