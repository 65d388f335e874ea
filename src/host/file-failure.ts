// A sandboxed file's failure, already in the shape Jest reports
// (test-file-failure's SerializableError): what the runner hands to Jest
// as it is, instead of formatting an Error of its own.
import type { SerializableError } from '@jest/test-result';

export class FileFailure extends Error {
  constructor(readonly serializable: SerializableError) {
    super(serializable.message);
  }

  /** A failure that is only a message (no stack: none of it is code the user wrote). */
  static of(message: string): FileFailure {
    return new FileFailure({ message, stack: '', type: 'Error' });
  }
}
