/**
 * The gRPC service definition of `flagd.sync.v1.FlagSyncService` over this package's
 * codecs (`sync-proto.ts`): what the sync server serves, and what a Node client (the tests)
 * calls it with.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { decodeSyncFlagsResponse, decodeSyncRequest, encodeSyncRequest, FLAG_SYNC_METHOD } from './sync-proto.js';

const identity = (value: Buffer): Buffer => value;

/**
 * The gRPC definition of `flagd.sync.v1.FlagSyncService` over this package's codecs. The
 * client half (request encoding, response decoding) serves tests and Node clients.
 */
export const FLAG_SYNC_SERVICE_DEFINITION: ServiceDefinition = {
  syncFlags: {
    path: FLAG_SYNC_METHOD.syncFlags,
    requestStream: false,
    responseStream: true,
    requestSerialize: encodeSyncRequest,
    requestDeserialize: decodeSyncRequest,
    responseSerialize: identity,
    responseDeserialize: decodeSyncFlagsResponse,
    originalName: 'syncFlags',
  },
  fetchAllFlags: {
    path: FLAG_SYNC_METHOD.fetchAllFlags,
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeSyncRequest,
    requestDeserialize: decodeSyncRequest,
    responseSerialize: identity,
    // FetchAllFlagsResponse has the same first field as SyncFlagsResponse.
    responseDeserialize: decodeSyncFlagsResponse,
    originalName: 'fetchAllFlags',
  },
  getMetadata: {
    path: FLAG_SYNC_METHOD.getMetadata,
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeSyncRequest,
    requestDeserialize: decodeSyncRequest,
    responseSerialize: identity,
    responseDeserialize: identity,
    originalName: 'getMetadata',
  },
};
