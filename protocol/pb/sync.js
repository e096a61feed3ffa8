/* eslint-disable require-yield */
import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime';
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc';
export var SyncFrame;
(function (SyncFrame) {
    let _codec;
    SyncFrame.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.end != null) {
                    w.uint32(10);
                    End.codec().encode(obj.end, w);
                }
                if (obj.summaryRequest != null) {
                    w.uint32(18);
                    SummaryRequest.codec().encode(obj.summaryRequest, w);
                }
                if (obj.summary != null) {
                    w.uint32(26);
                    Summary.codec().encode(obj.summary, w);
                }
                if (obj.hashesRequest != null) {
                    w.uint32(34);
                    HashesRequest.codec().encode(obj.hashesRequest, w);
                }
                if (obj.hashes != null) {
                    w.uint32(42);
                    Hashes.codec().encode(obj.hashes, w);
                }
                if (obj.envelopesRequest != null) {
                    w.uint32(50);
                    EnvelopesRequest.codec().encode(obj.envelopesRequest, w);
                }
                if (obj.envelopes != null) {
                    w.uint32(58);
                    Envelopes.codec().encode(obj.envelopes, w);
                }
                if (obj.error != null) {
                    w.uint32(66);
                    ErrorReply.codec().encode(obj.error, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {};
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.end = End.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.end
                            });
                            break;
                        }
                        case 2: {
                            obj.summaryRequest = SummaryRequest.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.summaryRequest
                            });
                            break;
                        }
                        case 3: {
                            obj.summary = Summary.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.summary
                            });
                            break;
                        }
                        case 4: {
                            obj.hashesRequest = HashesRequest.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.hashesRequest
                            });
                            break;
                        }
                        case 5: {
                            obj.hashes = Hashes.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.hashes
                            });
                            break;
                        }
                        case 6: {
                            obj.envelopesRequest = EnvelopesRequest.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.envelopesRequest
                            });
                            break;
                        }
                        case 7: {
                            obj.envelopes = Envelopes.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.envelopes
                            });
                            break;
                        }
                        case 8: {
                            obj.error = ErrorReply.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.error
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield* End.codec().stream(reader, reader.uint32(), `${prefix}.end`, {
                                limits: opts.limits?.end
                            });
                            break;
                        }
                        case 2: {
                            yield* SummaryRequest.codec().stream(reader, reader.uint32(), `${prefix}.summaryRequest`, {
                                limits: opts.limits?.summaryRequest
                            });
                            break;
                        }
                        case 3: {
                            yield* Summary.codec().stream(reader, reader.uint32(), `${prefix}.summary`, {
                                limits: opts.limits?.summary
                            });
                            break;
                        }
                        case 4: {
                            yield* HashesRequest.codec().stream(reader, reader.uint32(), `${prefix}.hashesRequest`, {
                                limits: opts.limits?.hashesRequest
                            });
                            break;
                        }
                        case 5: {
                            yield* Hashes.codec().stream(reader, reader.uint32(), `${prefix}.hashes`, {
                                limits: opts.limits?.hashes
                            });
                            break;
                        }
                        case 6: {
                            yield* EnvelopesRequest.codec().stream(reader, reader.uint32(), `${prefix}.envelopesRequest`, {
                                limits: opts.limits?.envelopesRequest
                            });
                            break;
                        }
                        case 7: {
                            yield* Envelopes.codec().stream(reader, reader.uint32(), `${prefix}.envelopes`, {
                                limits: opts.limits?.envelopes
                            });
                            break;
                        }
                        case 8: {
                            yield* ErrorReply.codec().stream(reader, reader.uint32(), `${prefix}.error`, {
                                limits: opts.limits?.error
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, SyncFrame.codec());
    }
    SyncFrame.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, SyncFrame.codec(), opts);
    }
    SyncFrame.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, SyncFrame.codec(), opts);
    }
    SyncFrame.stream = stream;
})(SyncFrame || (SyncFrame = {}));
export var End;
(function (End) {
    let _codec;
    End.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {};
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, End.codec());
    }
    End.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, End.codec(), opts);
    }
    End.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, End.codec(), opts);
    }
    End.stream = stream;
})(End || (End = {}));
export var SummaryRequest;
(function (SummaryRequest) {
    let _codec;
    SummaryRequest.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {};
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, SummaryRequest.codec());
    }
    SummaryRequest.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, SummaryRequest.codec(), opts);
    }
    SummaryRequest.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, SummaryRequest.codec(), opts);
    }
    SummaryRequest.stream = stream;
})(SummaryRequest || (SummaryRequest = {}));
export var Summary;
(function (Summary) {
    let _codec;
    Summary.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.counts != null && obj.counts.length > 0) {
                    for (const value of obj.counts) {
                        w.uint32(8);
                        w.uint32(value);
                    }
                }
                if ((obj.xors != null && obj.xors.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.xors);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    counts: [],
                    xors: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            if (opts.limits?.counts != null && obj.counts.length === opts.limits.counts) {
                                throw new MaxLengthError('Decode error - repeated field "counts" had too many elements');
                            }
                            obj.counts.push(reader.uint32());
                            break;
                        }
                        case 2: {
                            obj.xors = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const obj = {
                    counts: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            if (opts.limits?.counts != null && obj.counts === opts.limits.counts) {
                                throw new MaxLengthError('Streaming decode error - repeated field "counts" had too many elements');
                            }
                            yield {
                                field: `${prefix}.counts[]`,
                                index: obj.counts,
                                value: reader.uint32()
                            };
                            obj.counts++;
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.xors`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, Summary.codec());
    }
    Summary.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Summary.codec(), opts);
    }
    Summary.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Summary.codec(), opts);
    }
    Summary.stream = stream;
})(Summary || (Summary = {}));
export var HashesRequest;
(function (HashesRequest) {
    let _codec;
    HashesRequest.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.buckets != null && obj.buckets.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.buckets);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    buckets: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.buckets = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.buckets`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, HashesRequest.codec());
    }
    HashesRequest.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, HashesRequest.codec(), opts);
    }
    HashesRequest.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, HashesRequest.codec(), opts);
    }
    HashesRequest.stream = stream;
})(HashesRequest || (HashesRequest = {}));
export var Hashes;
(function (Hashes) {
    let _codec;
    Hashes.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.ids != null && obj.ids.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.ids);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    ids: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.ids = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.ids`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, Hashes.codec());
    }
    Hashes.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Hashes.codec(), opts);
    }
    Hashes.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Hashes.codec(), opts);
    }
    Hashes.stream = stream;
})(Hashes || (Hashes = {}));
export var EnvelopesRequest;
(function (EnvelopesRequest) {
    let _codec;
    EnvelopesRequest.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.ids != null && obj.ids.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.ids);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    ids: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.ids = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.ids`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, EnvelopesRequest.codec());
    }
    EnvelopesRequest.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, EnvelopesRequest.codec(), opts);
    }
    EnvelopesRequest.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, EnvelopesRequest.codec(), opts);
    }
    EnvelopesRequest.stream = stream;
})(EnvelopesRequest || (EnvelopesRequest = {}));
export var Envelopes;
(function (Envelopes) {
    let _codec;
    Envelopes.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.envelopes != null && obj.envelopes.length > 0) {
                    for (const value of obj.envelopes) {
                        w.uint32(10);
                        w.bytes(value);
                    }
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    envelopes: []
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            if (opts.limits?.envelopes != null && obj.envelopes.length === opts.limits.envelopes) {
                                throw new MaxLengthError('Decode error - repeated field "envelopes" had too many elements');
                            }
                            obj.envelopes.push(reader.bytes());
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const obj = {
                    envelopes: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            if (opts.limits?.envelopes != null && obj.envelopes === opts.limits.envelopes) {
                                throw new MaxLengthError('Streaming decode error - repeated field "envelopes" had too many elements');
                            }
                            yield {
                                field: `${prefix}.envelopes[]`,
                                index: obj.envelopes,
                                value: reader.bytes()
                            };
                            obj.envelopes++;
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, Envelopes.codec());
    }
    Envelopes.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Envelopes.codec(), opts);
    }
    Envelopes.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Envelopes.codec(), opts);
    }
    Envelopes.stream = stream;
})(Envelopes || (Envelopes = {}));
export var ErrorReply;
(function (ErrorReply) {
    let _codec;
    ErrorReply.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.message != null && obj.message !== '')) {
                    w.uint32(10);
                    w.string(obj.message);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    message: ''
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.message = reader.string();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.message`,
                                value: reader.string()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, ErrorReply.codec());
    }
    ErrorReply.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, ErrorReply.codec(), opts);
    }
    ErrorReply.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, ErrorReply.codec(), opts);
    }
    ErrorReply.stream = stream;
})(ErrorReply || (ErrorReply = {}));
