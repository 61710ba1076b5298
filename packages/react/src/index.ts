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
export { useMutation, useUndoManager, useYArray, useYMap, useYText, type UndoState } from './doc-hooks.js';
export { useError, useRetryNow, useSelf, useSuspendUntilSynced, useSynced, type RoomError } from './session-hooks.js';
export { useTextInput, type TextInputBinding } from './text-input.js';
