/**
 * The canonical image (DESIGN section 3, "The output digest"): an engine's image archive in, the
 * OCI layout every honest reproducer writes byte for byte out; its manifest digest is the output
 * digest they attest. The rest of the project imports this file only.
 *
 * Where each rule of section 3 is implemented:
 *
 * | Rule                                                                  | File: function                                       |
 * | --------------------------------------------------------------------- | ---------------------------------------------------- |
 * | archives read: Docker `GET /images/{name}/get` and `docker save`,     | image-archive.ts: spoolImageArchive, dockerImage,    |
 * |   Podman docker- and oci-archive, BuildKit's OCI export (nested       |   ociImage                                           |
 * |   index, attestation manifests skipped)                               |                                                      |
 * | gzip and plain layers (zstd too); bzip2, xz refused                   | image-archive.ts: decompressed                       |
 * | tar headers read: ustar, pax, GNU long names and base-256, v7         | tar.ts: decodeHeader; tar-reader.ts: readTar         |
 * | layers squashed, whiteouts `.wh.<name>` and `.wh..wh..opq` applied    | squash.ts: Squash.applyLayer                         |
 * | the `./` root entry dropped                                           | squash.ts: Squash #add                               |
 * | missing parent directories as 0755 0:0                                | squash.ts: Squash #parentOf                          |
 * | entries sorted bytewise by path                                       | squash.ts: Squash.entries (byte strings: tar.ts)     |
 * | mode & 07777, symlinks 0777                                           | squash.ts: canonical                                 |
 * | hard links point at the bytewise-smallest path of their group         | squash.ts: canonical                                 |
 * | fifos and device nodes fail the build (SPECIAL_FILE)                  | squash.ts: Squash.entries                            |
 * | xattrs dropped except `security.capability`                           | tar-reader.ts: readTar (the one record kept)         |
 * | mtime 0, uid/gid numeric, user and group names empty                  | tar.ts: encodeHeader                                 |
 * | pax headers only where ustar cannot hold a value                      | tar.ts: encodeHeader, splitName                      |
 * | one uncompressed layer, its digest its diff id                        | layer-writer.ts: writeLayer                          |
 * | config: sorted keys, `created` 1970-01-01T00:00:00Z, no history,      | oci.ts: canonicalConfig                              |
 * |   engine labels and empty fields dropped                              |                                                      |
 * | OCI layout (`oci-layout`, `index.json`, blobs); the manifest digest   | oci.ts: imageManifest, imageIndex, ociLayout;        |
 * |   is the output digest; `manifest.json` for `docker load`             |   dockerManifest; canonicalize.ts: canonicalize      |
 *
 * tar.ts, squash.ts and oci.ts are the bytes and rules, pure (no I/O). The others move bytes:
 * spool.ts keeps a streamed archive on disk, tar-reader.ts indexes tars by offset, layer-writer.ts
 * and trailing-hash.ts write and hash the layer, layout-tar.ts streams a layout to `docker load`.
 * test/vectors/canonical-images.json and demo-tree-digests.json pin the output bytes.
 */
export { canonicalize, type CanonicalImage, type CanonicalizeOptions } from './canonicalize.ts';
export { layoutTar } from './layout-tar.ts';
