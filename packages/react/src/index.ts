export { TandemRoom, useDoc, useProvider, useRoom, type RoomContextValue, type TandemRoomProps } from './room.js';
export {
  shallowEqual,
  useArray,
  useEvent,
  useMap,
  useMyPresence,
  useOthers,
  useSaveState,
  useSendEvent,
  useStatus,
  useText,
  useTransport,
  useUpdateMyPresence,
} from './hooks.js';
