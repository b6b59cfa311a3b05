/** Stable codes for failures of the test control plane; branch on `code`, never on message text. */
export type TestEnvErrorCode =
  | 'TEST_ENV_MISSING_BINARY'
  | 'TEST_ENV_START_FAILED'
  | 'TEST_ENV_COMMAND_FAILED'
  | 'TEST_ENV_SHARED_SERVER'
  | 'TEST_ENV_WAIT_TIMEOUT';

export class TestEnvError extends Error {
  override readonly name = 'TestEnvError';
  constructor(
    readonly code: TestEnvErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
