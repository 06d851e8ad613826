export { Session, type SessionOptions, type SessionInput, type Classification } from './session.js';
