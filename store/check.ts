/**
 * `store check`: a read-only walk of every store entry (store/keys.ts) that proves the indexes
 * agree with the envelopes: each tally line and key index entry points at a stored envelope
 * whose statement and signatures say what the entry says; each tally line has its key entry
 * and each key entry its tally line; each envelope is stored under its sha256 and counted in
 * some tally; each OpenPGP vote entry reads back. Needs no trust policy: it checks what is
 * stored against itself, not who signed it. Memory: one small record per vote.
 */
import { envelopeHash, parseEnvelope, signatureKeyid } from '../protocol/dsse.ts';
import { fromBase64 } from '../protocol/encoding.ts';
import { engineDigestOf, parseStatement } from '../protocol/statement.ts';
import type { StoreProblem } from './errors.ts';
import { indexValue, parseIndexEntry, parseOpenpgpEntry, parseTally, SEP } from './keys.ts';
import type { AttestationStore } from './store.ts';
import type { Vote } from '../protocol/attestation.ts';

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
  keyids: Set<string>;
}

/** Walks the whole store; `problems` is empty when every entry is consistent. */
export async function checkStore(store: AttestationStore): Promise<StoreCheck> {
  const result: StoreCheck = { envelopes: 0, tallies: 0, votes: 0, keyEntries: 0, openpgpVotes: 0, problems: [] };
  const problem = (sublevel: string, key: string, text: string) => result.problems.push({ sublevel, key, problem: text });

  // Tally lines by envelope: "<keyid> <envelope>" -> the index value the key entry must hold.
  const tallyVotes = new Map<string, string>();
  const byEnvelope = new Map<string, Vote[]>();
  for await (const batch of store.entries('tally')) {
    for (const [key, value] of batch as [string, string][]) {
      result.tallies += 1;
      const votes: Vote[] = [];
      const lines: string[] = [];
      parseTally(key, value, votes, lines);
      lines.forEach((line) => problem('tally', key, line));
      for (const vote of votes) {
        result.votes += 1;
        tallyVotes.set(vote.keyid + SEP + vote.envelope, indexValue(vote));
        byEnvelope.set(vote.envelope, [...(byEnvelope.get(vote.envelope) ?? []), vote]);
      }
    }
  }

  const keyEntries = new Set<string>();
  for await (const batch of store.entries('key')) {
    for (const [key, value] of batch as [string, string][]) {
      result.keyEntries += 1;
      keyEntries.add(key);
      const [keyid = '', envelope = ''] = key.split(SEP);
      const vote = parseIndexEntry(keyid, envelope, value);
      if (typeof vote === 'string') {
        problem('key', key, vote);
        continue;
      }
      const expected = tallyVotes.get(key);
      if (expected === undefined) problem('key', key, `key entry has no vote line in the tally of ${value.split(SEP).slice(0, 3).join(SEP)}`);
      else if (expected !== value) problem('key', key, `key entry says ${JSON.stringify(value)}, its tally line says ${JSON.stringify(expected)}`);
      if (!byEnvelope.has(envelope)) byEnvelope.set(envelope, [vote]);
    }
  }
  for (const key of tallyVotes.keys()) if (!keyEntries.has(key)) problem('tally', key, 'vote line has no key index entry');

  const stored = new Set<string>();
  for await (const batch of store.entries('env')) {
    for (const [hash, bytes] of batch as [string, Uint8Array][]) {
      result.envelopes += 1;
      stored.add(hash);
      const facts = envelopeFacts(hash, bytes);
      if (typeof facts === 'string') {
        problem('env', hash, facts);
        continue;
      }
      const votes = byEnvelope.get(hash);
      if (votes === undefined) problem('env', hash, 'stored envelope is counted in no tally and no key entry');
      for (const vote of votes ?? []) {
        const where = `${vote.keyid}${SEP}${hash}`;
        if (!facts.keyids.has(vote.keyid)) problem('tally', where, 'vote of a key that did not sign the envelope');
        if (`${vote.image} ${vote.platform} ${vote.inputDigest}` !== facts.identity) problem('tally', where, `vote for ${vote.image} ${vote.platform} ${vote.inputDigest}, the envelope's statement is for ${facts.identity}`);
        if (vote.digest !== facts.digest || vote.engineDigest !== facts.engineDigest) problem('tally', where, `vote for digest ${vote.digest}${vote.engineDigest ? ` (engine ${vote.engineDigest})` : ''}, the envelope's statement says ${facts.digest}${facts.engineDigest ? ` (engine ${facts.engineDigest})` : ''}`);
      }
    }
  }
  for (const [envelope, votes] of byEnvelope) {
    if (!stored.has(envelope)) for (const vote of votes) problem('tally', vote.keyid + SEP + envelope, `points at envelope ${envelope}, which is not stored`);
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
  if (envelopeHash(bytes) !== hash) return `stored bytes hash to ${envelopeHash(bytes)}, not to their key`;
  try {
    const envelope = parseEnvelope(bytes, `envelope ${hash}`);
    const statement = parseStatement(fromBase64(envelope.payload, 'payload'), `envelope ${hash}`);
    const params = statement.predicate.buildDefinition.externalParameters;
    const subject = statement.subject[0]!;
    return {
      identity: `${subject.name} ${params.platform} ${params.inputDigest}`,
      digest: subject.digest.sha256,
      engineDigest: engineDigestOf(statement),
      keyids: new Set(envelope.signatures.map((s, i) => signatureKeyid(s, i, `envelope ${hash}`))),
    };
  } catch (error) {
    return (error as Error).message;
  }
}
