import type { Codec, DecodeOptions } from 'protons-runtime';
import type { Uint8ArrayList } from 'uint8arraylist';
export interface SyncFrame {
    end?: End;
    summaryRequest?: SummaryRequest;
    summary?: Summary;
    hashesRequest?: HashesRequest;
    hashes?: Hashes;
    envelopesRequest?: EnvelopesRequest;
    envelopes?: Envelopes;
    error?: ErrorReply;
}
export declare namespace SyncFrame {
    const codec: () => Codec<SyncFrame>;
    interface SyncFrameSummaryCountsFieldEvent {
        field: '$.summary.counts[]';
        index: number;
        value: number;
    }
    interface SyncFrameSummaryXorsFieldEvent {
        field: '$.summary.xors';
        value: Uint8Array<ArrayBuffer>;
    }
    interface SyncFrameHashesRequestBucketsFieldEvent {
        field: '$.hashesRequest.buckets';
        value: Uint8Array<ArrayBuffer>;
    }
    interface SyncFrameHashesIdsFieldEvent {
        field: '$.hashes.ids';
        value: Uint8Array<ArrayBuffer>;
    }
    interface SyncFrameEnvelopesRequestIdsFieldEvent {
        field: '$.envelopesRequest.ids';
        value: Uint8Array<ArrayBuffer>;
    }
    interface SyncFrameEnvelopesEnvelopesFieldEvent {
        field: '$.envelopes.envelopes[]';
        index: number;
        value: Uint8Array<ArrayBuffer>;
    }
    interface SyncFrameErrorMessageFieldEvent {
        field: '$.error.message';
        value: string;
    }
    function encode(obj: Partial<SyncFrame>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncFrame>): SyncFrame;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncFrame>): Generator<SyncFrameSummaryCountsFieldEvent | SyncFrameSummaryXorsFieldEvent | SyncFrameHashesRequestBucketsFieldEvent | SyncFrameHashesIdsFieldEvent | SyncFrameEnvelopesRequestIdsFieldEvent | SyncFrameEnvelopesEnvelopesFieldEvent | SyncFrameErrorMessageFieldEvent>;
}
export interface End {
}
export declare namespace End {
    const codec: () => Codec<End>;
    function encode(obj: Partial<End>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<End>): End;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<End>): Generator<{}>;
}
export interface SummaryRequest {
}
export declare namespace SummaryRequest {
    const codec: () => Codec<SummaryRequest>;
    function encode(obj: Partial<SummaryRequest>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SummaryRequest>): SummaryRequest;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SummaryRequest>): Generator<{}>;
}
export interface Summary {
    counts: number[];
    xors: Uint8Array<ArrayBuffer>;
}
export declare namespace Summary {
    const codec: () => Codec<Summary>;
    interface SummaryCountsFieldEvent {
        field: '$.counts[]';
        index: number;
        value: number;
    }
    interface SummaryXorsFieldEvent {
        field: '$.xors';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<Summary>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Summary>): Summary;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Summary>): Generator<SummaryCountsFieldEvent | SummaryXorsFieldEvent>;
}
export interface HashesRequest {
    buckets: Uint8Array<ArrayBuffer>;
}
export declare namespace HashesRequest {
    const codec: () => Codec<HashesRequest>;
    interface HashesRequestBucketsFieldEvent {
        field: '$.buckets';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<HashesRequest>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HashesRequest>): HashesRequest;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HashesRequest>): Generator<HashesRequestBucketsFieldEvent>;
}
export interface Hashes {
    ids: Uint8Array<ArrayBuffer>;
}
export declare namespace Hashes {
    const codec: () => Codec<Hashes>;
    interface HashesIdsFieldEvent {
        field: '$.ids';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<Hashes>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Hashes>): Hashes;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Hashes>): Generator<HashesIdsFieldEvent>;
}
export interface EnvelopesRequest {
    ids: Uint8Array<ArrayBuffer>;
}
export declare namespace EnvelopesRequest {
    const codec: () => Codec<EnvelopesRequest>;
    interface EnvelopesRequestIdsFieldEvent {
        field: '$.ids';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<EnvelopesRequest>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<EnvelopesRequest>): EnvelopesRequest;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<EnvelopesRequest>): Generator<EnvelopesRequestIdsFieldEvent>;
}
export interface Envelopes {
    envelopes: Uint8Array<ArrayBuffer>[];
}
export declare namespace Envelopes {
    const codec: () => Codec<Envelopes>;
    interface EnvelopesEnvelopesFieldEvent {
        field: '$.envelopes[]';
        index: number;
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<Envelopes>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Envelopes>): Envelopes;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Envelopes>): Generator<EnvelopesEnvelopesFieldEvent>;
}
export interface ErrorReply {
    message: string;
}
export declare namespace ErrorReply {
    const codec: () => Codec<ErrorReply>;
    interface ErrorReplyMessageFieldEvent {
        field: '$.message';
        value: string;
    }
    function encode(obj: Partial<ErrorReply>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ErrorReply>): ErrorReply;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ErrorReply>): Generator<ErrorReplyMessageFieldEvent>;
}
