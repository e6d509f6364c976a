/** Which AWS account the command line acts for: the one its credentials belong to, as STS says. */
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';

/** STS could not say who we are (no credentials, expired token, no network); names the cause. */
export class AccountLookupError extends Error {
  override name = 'AccountLookupError';
}

/**
 * The caller's account id. STS is asked in `region` (the first region reconciled): any region answers for
 * the account, and it keeps a China or GovCloud region in its own partition. AWS_ENDPOINT_URL_STS points
 * the SDK elsewhere (the sandbox).
 */
export async function callerAccountId(region: string): Promise<string> {
  const sts = new STSClient({ region, maxAttempts: 3 });
  try {
    const { Account } = await sts.send(new GetCallerIdentityCommand({}));
    if (!Account || !/^\d{12}$/.test(Account)) {
      throw new AccountLookupError(`STS GetCallerIdentity answered an account id "${Account ?? ''}"`);
    }
    return Account;
  } catch (e) {
    if (e instanceof AccountLookupError) throw e;
    const err = e as Error;
    throw new AccountLookupError(
      `cannot read the AWS account id (STS GetCallerIdentity): ${err.name}: ${err.message} ` +
        '(credentials come from the AWS SDK default chain: AWS_PROFILE, AWS_ACCESS_KEY_ID, SSO, ...)',
    );
  } finally {
    sts.destroy();
  }
}
