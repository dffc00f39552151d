/**
 * flagd's sync protocol, `flagd.sync.v1.FlagSyncService` (`flagd/sync/v1/sync.proto` of
 * open-feature/flagd-schemas), and the `google.protobuf.Struct` it carries, in protobuf IDL,
 * encoded and decoded by protobufjs. Field numbers and types are those of the generated code
 * that `@openfeature/flagd-provider` 0.16 bundles (no installed package ships the `.proto`
 * file): `sync_context` (2) on `SyncFlagsResponse` and the deprecated `GetMetadata` are newer
 * than the schema's first version. `sync-proto.test.ts` checks the wire bytes.
 */
import protobuf from 'protobufjs';

const STRUCT_PROTO = `
syntax = "proto3";
package google.protobuf;
message Struct { map<string, Value> fields = 1; }
message Value {
  oneof kind {
    NullValue null_value = 1;
    double number_value = 2;
    string string_value = 3;
    bool bool_value = 4;
    Struct struct_value = 5;
    ListValue list_value = 6;
  }
}
enum NullValue { NULL_VALUE = 0; }
message ListValue { repeated Value values = 1; }
`;

const SYNC_PROTO = `
syntax = "proto3";
package flagd.sync.v1;
message SyncFlagsRequest {
  string provider_id = 1;
  string selector = 2;
}
message SyncFlagsResponse {
  string flag_configuration = 1;
  google.protobuf.Struct sync_context = 2;
}
message FetchAllFlagsRequest {
  string provider_id = 1;
  string selector = 2;
}
message FetchAllFlagsResponse {
  string flag_configuration = 1;
}
message GetMetadataRequest {}
message GetMetadataResponse {
  reserved 1;
  google.protobuf.Struct metadata = 2;
}
service FlagSyncService {
  rpc SyncFlags(SyncFlagsRequest) returns (stream SyncFlagsResponse) {}
  rpc FetchAllFlags(FetchAllFlagsRequest) returns (FetchAllFlagsResponse) {}
  rpc GetMetadata(GetMetadataRequest) returns (GetMetadataResponse) {}
}
`;

function buildRoot(): protobuf.Root {
  const root = new protobuf.Root();
  for (const source of [STRUCT_PROTO, SYNC_PROTO]) protobuf.parse(source, root, { keepCase: false });
  root.resolveAll();
  return root;
}

const root = buildRoot();
const SyncFlagsRequest = root.lookupType('flagd.sync.v1.SyncFlagsRequest');
const SyncFlagsResponse = root.lookupType('flagd.sync.v1.SyncFlagsResponse');
const FetchAllFlagsRequest = root.lookupType('flagd.sync.v1.FetchAllFlagsRequest');
const FetchAllFlagsResponse = root.lookupType('flagd.sync.v1.FetchAllFlagsResponse');
const GetMetadataResponse = root.lookupType('flagd.sync.v1.GetMetadataResponse');

/** Full name of the service, as in the gRPC method paths. */
export const FLAG_SYNC_SERVICE = 'flagd.sync.v1.FlagSyncService';

/** gRPC method paths of {@link FLAG_SYNC_SERVICE}. */
export const FLAG_SYNC_METHOD = Object.freeze({
  syncFlags: `/${FLAG_SYNC_SERVICE}/SyncFlags`,
  fetchAllFlags: `/${FLAG_SYNC_SERVICE}/FetchAllFlags`,
  getMetadata: `/${FLAG_SYNC_SERVICE}/GetMetadata`,
});

/**
 * A decoded `SyncFlagsRequest` / `FetchAllFlagsRequest` (same fields; `GetMetadataRequest`
 * has none, so any well-formed message is one), or why the bytes are not a message.
 */
export type SyncRequest =
  | { readonly ok: true; readonly providerId: string; readonly selector: string }
  | { readonly ok: false; readonly problem: string };

/**
 * Decodes a request of any of the three methods. Never throws: bytes
 * that are not one come back as `{ ok: false }`, so the server can answer INVALID_ARGUMENT
 * instead of letting the gRPC library turn the throw into INTERNAL.
 */
export function decodeSyncRequest(bytes: Uint8Array): SyncRequest {
  try {
    const message = SyncFlagsRequest.toObject(SyncFlagsRequest.decode(bytes), { defaults: true }) as {
      providerId: string;
      selector: string;
    };
    return { ok: true, providerId: message.providerId, selector: message.selector };
  } catch (error) {
    return { ok: false, problem: `not a flagd.sync.v1 request: ${(error as Error).message}` };
  }
}

/** Encodes a `SyncFlagsResponse` carrying a flag configuration (JSON text) and an empty sync context, as flagd does. */
export function encodeSyncFlagsResponse(flagConfiguration: string): Buffer {
  return Buffer.from(
    SyncFlagsResponse.encode(SyncFlagsResponse.fromObject({ flagConfiguration, syncContext: { fields: {} } })).finish(),
  );
}

/** Encodes a `FetchAllFlagsResponse`. */
export function encodeFetchAllFlagsResponse(flagConfiguration: string): Buffer {
  return Buffer.from(FetchAllFlagsResponse.encode(FetchAllFlagsResponse.fromObject({ flagConfiguration })).finish());
}

/** Encodes a `GetMetadataResponse` with empty metadata (flagd puts its static context values there). */
export function encodeGetMetadataResponse(): Buffer {
  return Buffer.from(GetMetadataResponse.encode(GetMetadataResponse.fromObject({ metadata: { fields: {} } })).finish());
}

/** Encodes a request (for tests and clients of this package). */
export function encodeSyncRequest(request: { providerId?: string; selector?: string }): Buffer {
  return Buffer.from(FetchAllFlagsRequest.encode(FetchAllFlagsRequest.fromObject(request)).finish());
}

/** Decodes a `SyncFlagsResponse` (for tests and clients of this package). Throws on bytes that are not one. */
export function decodeSyncFlagsResponse(bytes: Uint8Array): { flagConfiguration: string } {
  const message = SyncFlagsResponse.toObject(SyncFlagsResponse.decode(bytes), { defaults: true }) as {
    flagConfiguration: string;
  };
  return { flagConfiguration: message.flagConfiguration };
}
