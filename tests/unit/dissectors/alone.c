/* alone.c — links every object of the dissectors library (whole archive) and nothing from
 * sensor/: a symbol of sensor/ used by a dissector fails this link (ctest dissectors_alone). */
int main(void)
{
    return 0;
}
