/* A plugin without a moss_app_init symbol: loading it must fail and say so.
 * It calls no moss function, so it loads into any process. */
int moss_app_start(void);

int moss_app_start(void)
{
    return 0;
}
